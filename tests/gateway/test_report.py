"""The compliance report a back office sends its client (``/v1/companies/{uscc}/report.pdf``), read as a person
would: the text a PDF reader extracts, A4 pages, and each page rendered to an image by poppler's pdftoppm."""

from __future__ import annotations

import asyncio
import io
import subprocess
from pathlib import Path

from PIL import Image
from pypdf import PdfReader
from system_packages import debian_packages, debian_tool
from test_reads import NATIONWIDE, QIHANG, SEAT_LEASING, SHANGHAI, record

AT = NATIONWIDE["expect"]["as_of"]  # 2026-11-23, Shanghai


async def test_report_holds_the_company_its_due_dates_and_findings_on_a4(api, tmp_path: Path):
    last = await record(api, SEAT_LEASING["facts"] + NATIONWIDE["facts"])
    r = await api.get(f"/v1/companies/{SHANGHAI}/report.pdf", params={"as_of": AT, "min_sequence": last})
    assert r.status_code == 200, r.text
    assert r.headers["content-type"] == "application/pdf" and r.content.startswith(b"%PDF-")
    assert f'filename="report-{SHANGHAI}-2026-11-23.pdf"' in r.headers["content-disposition"]
    reader = PdfReader(io.BytesIO(r.content))
    assert all((round(float(p.mediabox.width)), round(float(p.mediabox.height))) == (595, 842) for p in reader.pages)
    text = "\n".join(p.extract_text() for p in reader.pages)
    assert "上海某客服外包有限公司" in text and SHANGHAI in text
    assert "2026-12-14" in text  # the renewal, due within 12 months
    assert "2027-03-31" in text  # the 2026 annual report
    assert "2025-03-31" in text  # the 2024 annual report, overdue
    assert "B2-20220315" in text and "2027-03-14" in text  # the licence and its expiry
    assert "bad-list" in text and "可信度 confidence" in text and "依据 source" in text
    assert f"Page 1 of {len(reader.pages)}" in text and "as of 2026-11-23" in text

    extracted = await asyncio.to_thread(pdf_to_text, r.content, tmp_path)
    assert "上海某客服外包有限公司" in extracted and "2026-12-14" in extracted


def pdf_to_text(pdf: bytes, folder: Path) -> str:
    """What poppler's pdftotext (a reader's copy and search) gets out of the PDF."""
    pdftotext = debian_tool("pdftotext", "poppler-utils")
    debian_packages("poppler-data")  # the CJK CMaps: without them poppler reads no Chinese text (a recommends)
    path = folder / "report.pdf"
    path.write_bytes(pdf)
    return subprocess.run([pdftotext, "-layout", str(path), "-"], capture_output=True, text=True, check=True).stdout


def pdf_to_images(pdf: bytes, folder: Path) -> list[Path]:
    """Each page drawn by pdftoppm at 100 dpi, with a Chinese font installed as on a client's machine
    (STSong-Light is not embedded: the viewer supplies the glyphs)."""
    pdftoppm = debian_tool("pdftoppm", "poppler-utils")
    debian_packages("fonts-wqy-microhei", "poppler-data")
    path = folder / "report.pdf"
    path.write_bytes(pdf)
    subprocess.run([pdftoppm, "-r", "100", "-png", str(path), str(folder / "page")], check=True, capture_output=True)
    return sorted(folder.glob("page-*.png"))


async def test_report_pages_render_to_images(api, tmp_path: Path):
    """pdftoppm draws every page (with a Chinese font installed, as on a client's machine): A4 at 100 dpi."""
    last = await record(api, SEAT_LEASING["facts"])
    r = await api.get(f"/v1/companies/{QIHANG}/report.pdf", params={"min_sequence": last,
                                                                    "as_of": SEAT_LEASING["expect"]["as_of"]})
    assert r.status_code == 200, r.text
    pages = await asyncio.to_thread(pdf_to_images, r.content, tmp_path)
    assert len(pages) == len(PdfReader(io.BytesIO(r.content)).pages) >= 1
    with Image.open(pages[0]) as image:
        assert image.size == (827, 1170)  # 210 x 297 mm at 100 dpi
        grey = image.convert("L")
        dark = sum(grey.histogram()[:128])
        assert dark > 5_000, dark  # text and rules were drawn, not a blank page


async def test_another_tenants_company_is_404(stack, api):
    await record(api, NATIONWIDE["facts"])
    _, other_key = stack.new_tenant("other")
    async with stack.client(other_key) as other:
        r = await other.get(f"/v1/companies/{SHANGHAI}/report.pdf")
        assert r.status_code == 404 and r.json()["type"] == "https://ledger.example/problems/not-found", r.text
        assert (await other.get("/v1/companies/not-a-uscc/report.pdf")).status_code == 404
