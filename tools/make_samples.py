#!/usr/bin/env python3
"""Regenerates samples/ and tests/fixtures/: small scanned dossiers made by the
project itself.

Pages are rendered from text in Liberation Serif (metric-compatible with Times
New Roman, as Nghị định 30/2020 documents are printed), then "scanned": a
little noise, a skew or a quarter turn, saved as JPEG, PNG or a multi-page
CCITT G4 TIFF with a resolution tag. Deterministic (fixed seed).

Needs: pip install pillow; apt-get install fonts-liberation2.
Run from the repository root: python3 tools/make_samples.py

samples/ is what the quick start digitizes; tests/fixtures/fields/ holds the
cases the field-extraction tests need: labels printed without diacritics (as
OCR sometimes reads them), a dossier whose pages disagree on the applicant's
name, and a birth registration whose child must not be taken as the applicant.
"""
import io, os, random, shutil, unicodedata
from PIL import Image, ImageDraw, ImageFont

FONT_DIR = "/usr/share/fonts/truetype/liberation2"
OUT = "samples"
rng = random.Random(20241127)


def font(size, bold=False, italic=False):
    name = "LiberationSerif-" + ("BoldItalic" if bold and italic else "Bold" if bold else "Italic" if italic else "Regular")
    return ImageFont.truetype(os.path.join(FONT_DIR, name + ".ttf"), size)


def render(lines, dpi):
    """lines: (text, style, align) with style in '', 'b', 'i'; A4 page."""
    w, h = int(8.27 * dpi), int(11.69 * dpi)
    img = Image.new("L", (w, h), 250)
    d = ImageDraw.Draw(img)
    pt = dpi / 72.0
    y = int(0.8 * dpi)
    margin = int(0.9 * dpi)
    for text, style, align in lines:
        if text is None:
            y += int(8 * pt)
            continue
        f = font(int(13 * pt), bold="b" in style, italic="i" in style)
        tw = d.textlength(text, font=f)
        x = margin if align == "l" else (w - tw) / 2 if align == "c" else w - margin - tw
        d.text((x, y), text, font=f, fill=20)
        y += int(19 * pt)
    return img


def scan(img, dpi, skew=0.0, rotate=0, specks=60):
    d = ImageDraw.Draw(img)
    for _ in range(specks):
        x, y = rng.randrange(img.width), rng.randrange(img.height)
        d.point((x, y), fill=rng.randrange(60, 160))
    if skew:
        img = img.rotate(skew, resample=Image.BICUBIC, expand=False, fillcolor=250)
    if rotate:
        img = img.rotate(rotate, expand=True)
    return img


def receipt(code, name, honorific, cccd, phone, address, proc_code, proc_name, received, due):
    dd, mm, yyyy = received.split("/")
    return [
        ("UBND HUYỆN XUÂN TRƯỜNG          CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM", "b", "c"),
        ("BỘ PHẬN MỘT CỬA                         Độc lập - Tự do - Hạnh phúc", "b", "c"),
        (None, "", ""),
        ("GIẤY TIẾP NHẬN HỒ SƠ VÀ HẸN TRẢ KẾT QUẢ", "b", "c"),
        (f"Mã hồ sơ: {code}", "", "c"),
        (None, "", ""),
        ("Bộ phận tiếp nhận và trả kết quả UBND huyện Xuân Trường", "", "l"),
        (f"Tiếp nhận hồ sơ của: {honorific} {name}", "", "l"),
        (f"Số định danh cá nhân: {cccd}", "", "l"),
        (f"Địa chỉ: {address}", "", "l"),
        (f"Số điện thoại: {phone}", "", "l"),
        (f"Nội dung yêu cầu giải quyết: {proc_name}", "", "l"),
        (f"Mã thủ tục: {proc_code}", "", "l"),
        (f"Thời gian nhận hồ sơ: 09 giờ 15 phút, ngày {received}", "", "l"),
        (f"Thời gian trả kết quả giải quyết hồ sơ: ngày {due}", "", "l"),
        (None, "", ""),
        (f"Xuân Trường, ngày {dd} tháng {mm} năm {yyyy}", "i", "r"),
        ("NGƯỜI TIẾP NHẬN HỒ SƠ", "b", "r"),
    ]


def application(name, birth, cccd, address, phone, proc_name):
    return [
        ("CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM", "b", "c"),
        ("Độc lập - Tự do - Hạnh phúc", "b", "c"),
        (None, "", ""),
        ("ĐƠN ĐỀ NGHỊ", "b", "c"),
        (f"V/v: {proc_name.lower()}", "", "c"),
        ("Kính gửi: Ủy ban nhân dân huyện Xuân Trường", "", "c"),
        (None, "", ""),
        (f"Tôi tên là: {name}", "", "l"),
        (f"Sinh ngày: {birth}", "", "l"),
        (f"Số định danh cá nhân: {cccd}", "", "l"),
        (f"Địa chỉ thường trú: {address}", "", "l"),
        (f"Số điện thoại liên hệ: {phone}", "", "l"),
        ("Tôi xin cam đoan những thông tin trên là đúng sự thật.", "", "l"),
        (None, "", ""),
        ("Người làm đơn", "b", "r"),
    ]


def blank(dpi):
    w, h = int(8.27 * dpi), int(11.69 * dpi)
    img = Image.new("L", (w, h), 248)
    d = ImageDraw.Draw(img)
    # a punch-hole shadow near the left edge
    r = int(0.12 * dpi)
    d.ellipse((int(0.25 * dpi) - r, h // 2 - r, int(0.25 * dpi) + r, h // 2 + r), fill=200)
    return img


def save_jpeg(img, path, dpi):
    img.save(path, "JPEG", quality=80, dpi=(dpi, dpi))


def save_png(img, path, dpi):
    img.save(path, "PNG", dpi=(dpi, dpi), optimize=True)


def save_g4(imgs, path, dpi):
    bw = [i.point(lambda v: 255 if v > 140 else 0, "1") for i in imgs]
    bw[0].save(path, "TIFF", compression="group4", dpi=(dpi, dpi), save_all=True, append_images=bw[1:])


def strip_marks(s):
    s = unicodedata.normalize("NFD", s).replace("đ", "d").replace("Đ", "D")
    return "".join(c for c in s if not unicodedata.combining(c))


def birth_form(applicant, cccd, address, child, child_birth, place_date):
    return [
        ("CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM", "b", "c"),
        ("Độc lập - Tự do - Hạnh phúc", "b", "c"),
        (None, "", ""),
        ("TỜ KHAI ĐĂNG KÝ KHAI SINH", "b", "c"),
        ("Kính gửi: Ủy ban nhân dân xã Xuân Ninh", "", "c"),
        (None, "", ""),
        (f"Họ, chữ đệm, tên người yêu cầu: {applicant}", "", "l"),
        (f"Nơi cư trú: {address}", "", "l"),
        (f"Giấy tờ tùy thân: Căn cước công dân số {cccd}", "", "l"),
        ("Quan hệ với người được đăng ký khai sinh: Mẹ", "", "l"),
        ("Đề nghị cơ quan đăng ký khai sinh cho người dưới đây:", "", "l"),
        (f"Họ, chữ đệm, tên: {child}", "", "l"),
        (f"Ngày, tháng, năm sinh: {child_birth}", "", "l"),
        ("Giới tính: Nữ   Dân tộc: Kinh   Quốc tịch: Việt Nam", "", "l"),
        (f"Làm tại: {place_date}", "", "l"),
        ("Người yêu cầu", "b", "r"),
    ]


def fixtures():
    out = os.path.join("tests", "fixtures", "fields")
    if os.path.isdir(out):
        shutil.rmtree(out)
    addr = "Xóm 4, xã Xuân Ninh, huyện Xuân Trường, tỉnh Nam Định"
    # Labels without diacritics; the values keep theirs.
    d = os.path.join(out, "no-diacritics")
    os.makedirs(d)
    lines = receipt("000.00.20.H40-240610-0011", "Phạm Thị Thu Hà", "Bà", "036190002345", "0903111222", addr,
                    "1.001022", "Đăng ký thường trú", "10/06/2024", "12/06/2024")
    plain = []
    for text, style, align in lines:
        if text and ":" in text:
            label, value = text.split(":", 1)
            text = strip_marks(label) + ":" + value
        plain.append((text, style, align))
    save_jpeg(scan(render(plain, 200), 200), os.path.join(d, "1.jpg"), 200)
    # Receipt and application disagree on the name.
    d = os.path.join(out, "conflict")
    os.makedirs(d)
    save_jpeg(scan(render(receipt("000.00.20.H40-240611-0012", "Vũ Văn Hùng", "Ông", "036085004321", "0904222333",
                                  addr, "1.004227", "Xác nhận tình trạng hôn nhân", "11/06/2024", "13/06/2024"), 200),
                   200), os.path.join(d, "1.jpg"), 200)
    save_jpeg(scan(render(application("Vũ Văn Hưng", "05/05/1985", "036085004321", addr, "0904222333",
                                      "Xác nhận tình trạng hôn nhân"), 200), 200), os.path.join(d, "2.jpg"), 200)
    # Birth registration: the child's name and birth date are not the applicant's.
    d = os.path.join(out, "birth")
    os.makedirs(d)
    save_jpeg(scan(render(receipt("000.00.20.H40-240612-0013", "Đỗ Thị Mai", "Bà", "036192005555", "0905333444",
                                  addr, "1.001193", "Đăng ký khai sinh", "12/06/2024", "14/06/2024"), 200), 200),
              os.path.join(d, "1.jpg"), 200)
    save_jpeg(scan(render(birth_form("Đỗ Thị Mai", "036192005555", addr, "NGUYỄN MINH ANH", "01/06/2024",
                                     "xã Xuân Ninh, ngày 12 tháng 06 năm 2024"), 200), 200),
              os.path.join(d, "2.jpg"), 200)


class Pdf:
    """A minimal PDF writer: numbered objects, one xref table."""

    def __init__(self):
        self.objs = []

    def add(self, body):
        self.objs.append(body if isinstance(body, bytes) else body.encode("latin-1"))
        return len(self.objs)

    def stream(self, head, data):
        return self.add(b"<<" + head.encode("latin-1") + b" /Length %d>>\nstream\n" % len(data) + data + b"\nendstream")

    def save(self, path, root):
        out = bytearray(b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n")
        offsets = []
        for i, body in enumerate(self.objs, 1):
            offsets.append(len(out))
            out += b"%d 0 obj\n" % i + body + b"\nendobj\n"
        xref = len(out)
        out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(self.objs) + 1)
        for o in offsets:
            out += b"%010d 00000 n \n" % o
        out += b"trailer\n<</Size %d /Root %d 0 R>>\nstartxref\n%d\n%%%%EOF\n" % (len(self.objs) + 1, root, xref)
        with open(path, "wb") as f:
            f.write(out)


def utf16_hex(s):
    return "<FEFF" + s.encode("utf-16-be").hex().upper() + ">"


def pdf_fixtures():
    out = os.path.join("tests", "fixtures", "pdf")
    if os.path.isdir(out):
        shutil.rmtree(out)
    os.makedirs(out)
    addr = "Xóm 5, xã Xuân Ninh, huyện Xuân Trường, tỉnh Nam Định"

    def page(code, name, dpi, mode="L"):
        img = scan(render(receipt(code, name, "Ông", "036088001111", "0906444555", addr, "1.001022",
                                  "Đăng ký thường trú", "15/06/2024", "17/06/2024"), dpi), dpi)
        return img.convert(mode)

    # JPEG 2000 at 240 dpi, colour, as PaperPort-style drivers write it.
    _write_scan_with(Pdf(), os.path.join(out, "jpx.pdf"), page("000.00.20.H40-240615-0021", "Lý Văn Phúc", 240, "RGB"),
                     240, b"", "", "", kind="jpx")
    # A scan with an e-signature stamp image and a vector mark drawn over it.
    stamp = Image.new("L", (700, 180), 255)
    sd = ImageDraw.Draw(stamp)
    sd.rectangle((2, 2, 697, 177), outline=0, width=4)
    sd.text((20, 30), "Ký bởi: Ủy ban nhân dân", font=font(40), fill=0)
    sd.text((20, 95), "huyện Xuân Trường", font=font(40), fill=0)
    sbuf = io.BytesIO()
    stamp.save(sbuf, "JPEG", quality=85)
    pdf = Pdf()
    st = pdf.stream("/Type /XObject /Subtype /Image /Width 700 /Height 180 /ColorSpace /DeviceGray "
                    "/BitsPerComponent 8 /Filter /DCTDecode", sbuf.getvalue())
    _write_scan_with(pdf, os.path.join(out, "overlay.pdf"), page("000.00.20.H40-240616-0022", "Mai Văn Lộc", 200), 200,
                     b"q 210 0 0 54 340 40 cm /Im1 Do Q\nq 1 0 0 RG 2 w 330 30 230 74 re S Q\n", f"/Im1 {st} 0 R", "")
    # A scan under an invisible, garbage OCR layer from the scanner's software.
    junk = b"BT 3 Tr /F1 12 Tf 72 700 Td (xQz JUNKWORD 0O0O llll Tlep nhan) Tj ET\n"
    _write_scan_with(Pdf(), os.path.join(out, "junk.pdf"), page("000.00.20.H40-240617-0023", "Tạ Văn Khoa", 200), 200,
                     junk, "", "")
    # A digitally signed scan (a signature field whose value has a ByteRange).
    pdf = Pdf()
    sig = pdf.add("<</Type /Sig /Filter /Adobe.PPKLite /SubFilter /adbe.pkcs7.detached /ByteRange [0 100 200 300] "
                  "/Contents <" + "00" * 64 + "> /Name " + utf16_hex("Nguyễn Văn An") +
                  " /M (D:20240618091500+07'00') /Reason " + utf16_hex("Phê duyệt") + ">>")
    field = pdf.add(f"<</FT /Sig /T (Signature1) /V {sig} 0 R /Rect [0 0 0 0] /Subtype /Widget /F 132>>")
    _write_scan_with(pdf, os.path.join(out, "signed.pdf"), page("000.00.20.H40-240618-0024", "Hà Văn Sơn", 200), 200,
                     b"", "", f"/AcroForm <</Fields [{field} 0 R] /SigFlags 3>>")
    # A born-digital page: real text, no scan.
    pdf = Pdf()
    text = b"BT /F1 14 Tf 72 760 Td (THONG BAO so 15/TB-UBND) Tj 0 -24 Td (Lich tiep cong dan thang 6 nam 2024) Tj ET\n"
    cid = pdf.stream("", text)
    font_id = pdf.add("<</Type /Font /Subtype /Type1 /BaseFont /Helvetica /Encoding /WinAnsiEncoding>>")
    page_id = pdf.add(f"<</Type /Page /Parent 4 0 R /MediaBox [0 0 595 842] /Resources <</Font <</F1 {font_id} 0 R>>>> "
                      f"/Contents {cid} 0 R>>")
    pdf.add(f"<</Type /Pages /Kids [{page_id} 0 R] /Count 1>>")
    root = pdf.add("<</Type /Catalog /Pages 4 0 R>>")
    pdf.save(os.path.join(out, "born-digital.pdf"), root)


def _write_scan_with(pdf, path, img, dpi, over, extra_res, catalog_extra, kind="jpeg"):
    """One page: a full-page scan (JPEG or JPEG 2000), then `over` drawn on it."""
    buf = io.BytesIO()
    w, h = img.size
    if kind == "jpx":
        img.save(buf, "JPEG2000", quality_mode="rates", quality_layers=[80])
        head = f"/Type /XObject /Subtype /Image /Width {w} /Height {h} /Filter /JPXDecode"
    else:
        img.save(buf, "JPEG", quality=75)
        head = (f"/Type /XObject /Subtype /Image /Width {w} /Height {h} /ColorSpace /DeviceGray "
                "/BitsPerComponent 8 /Filter /DCTDecode")
    im = pdf.stream(head, buf.getvalue())
    font_id = pdf.add("<</Type /Font /Subtype /Type1 /BaseFont /Helvetica>>")
    pw, ph = w * 72 / dpi, h * 72 / dpi
    cid = pdf.stream("", b"q %.2f 0 0 %.2f 0 0 cm /Im0 Do Q\n" % (pw, ph) + over)
    pages_id = len(pdf.objs) + 2
    page_id = pdf.add(f"<</Type /Page /Parent {pages_id} 0 R /MediaBox [0 0 {pw:.2f} {ph:.2f}] "
                      f"/Resources <</XObject <</Im0 {im} 0 R {extra_res}>> /Font <</F1 {font_id} 0 R>>>> "
                      f"/Contents {cid} 0 R>>")
    assert pdf.add(f"<</Type /Pages /Kids [{page_id} 0 R] /Count 1>>") == pages_id
    root = pdf.add(f"<</Type /Catalog /Pages {pages_id} 0 R {catalog_extra}>>")
    pdf.save(path, root)


def report_fixture():
    """A dossier whose recognized text carries markup, and that lacks its ID
    number, so the report lists it: the markup must come out escaped."""
    d = os.path.join("tests", "fixtures", "report", "xss")
    if os.path.isdir(d):
        shutil.rmtree(d)
    os.makedirs(d)
    lines = [l for l in receipt("000.00.20.H40-240620-0031", "Đào Văn Nam", "Ông", "036087006666", "0907555666",
                                "Xóm 6, xã Xuân Ninh, huyện Xuân Trường, tỉnh Nam Định", "1.001022",
                                "Đăng ký <script>alert(1)</script>", "20/06/2024", "22/06/2024")
             if not (l[0] or "").startswith("Số định danh")]
    save_jpeg(scan(render(lines, 200), 200), os.path.join(d, "1.jpg"), 200)


def main():
    if os.path.isdir(OUT):
        shutil.rmtree(OUT)

    # Dossier 1: JPEG receipt, PNG application turned a quarter, blank back side.
    d1 = os.path.join(OUT, "2024", "05", "000.00.20.H40-240506-0001")
    os.makedirs(d1)
    save_jpeg(scan(render(receipt("000.00.20.H40-240506-0001", "Nguyễn Thị Hồng Nhung", "Bà", "036184001234",
                                  "0912345678", "Xóm 3, xã Xuân Ninh, huyện Xuân Trường, tỉnh Nam Định",
                                  "1.001022", "Đăng ký thường trú", "06/05/2024", "08/05/2024"), 200), 200),
              os.path.join(d1, "trang_1.jpg"), 200)
    save_png(scan(render(application("Nguyễn Thị Hồng Nhung", "12/03/1984", "036184001234",
                                     "Xóm 3, xã Xuân Ninh, huyện Xuân Trường, tỉnh Nam Định", "0912345678",
                                     "Đăng ký thường trú"), 200), 200, rotate=90),
             os.path.join(d1, "trang_2.png"), 200)
    save_png(scan(blank(200), 200, specks=25), os.path.join(d1, "trang_3.png"), 200)
    with open(os.path.join(d1, "Thumbs.db"), "wb") as f:
        f.write(b"\xd0\xcf\x11\xe0 not a page")

    # Dossier 2: a two-page G4 TIFF (second page skewed), then a JPEG; natural
    # order puts "scan 2" before "scan 10".
    d2 = os.path.join(OUT, "2024", "05", "000.00.20.H40-240507-0002")
    os.makedirs(d2)
    p1 = scan(render(receipt("000.00.20.H40-240507-0002", "Trần Văn Bình", "Ông", "036079005678", "0988765432",
                             "Xóm 7, xã Xuân Hòa, huyện Xuân Trường, tỉnh Nam Định", "1.004227",
                             "Xác nhận tình trạng hôn nhân", "07/05/2024", "09/05/2024"), 200), 200)
    p2 = scan(render(application("Trần Văn Bình", "21/09/1979", "036079005678",
                                 "Xóm 7, xã Xuân Hòa, huyện Xuân Trường, tỉnh Nam Định", "0988765432",
                                 "Xác nhận tình trạng hôn nhân"), 200), 200, skew=2.5)
    save_g4([p1, p2], os.path.join(d2, "scan 2.tif"), 200)
    save_jpeg(scan(render([("Bản sao giấy tờ tùy thân của người yêu cầu", "b", "c"),
                           ("Họ và tên: Trần Văn Bình", "", "l")], 200), 200),
              os.path.join(d2, "scan 10.jpg"), 200)

    # Dossier 3: the folder name arrives in NFD, as copied from a Mac.
    d3 = os.path.join(OUT, "2024", "06", unicodedata.normalize("NFD", "240603-0003 Lê Văn Tâm"))
    os.makedirs(d3)
    save_jpeg(scan(render(receipt("000.00.20.H40-240603-0003", "Lê Văn Tâm", "Ông", "036095011223", "0977001122",
                                  "Xóm 1, xã Xuân Phong, huyện Xuân Trường, tỉnh Nam Định", "1.001193",
                                  "Đăng ký khai sinh", "03/06/2024", "05/06/2024"), 200), 200, skew=-1.5),
              os.path.join(d3, "001.jpg"), 200)
    fixtures()
    pdf_fixtures()
    report_fixture()


if __name__ == "__main__":
    main()
