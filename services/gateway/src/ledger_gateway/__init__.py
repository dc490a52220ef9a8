"""The public HTTP API: authentication, tenancy, OpenAPI, the calendar feed."""
