//! What makes a PDF an archival PDF/A-2b (Thông tư 05/2025/TT-BNV asks for
//! PDF/A): the XMP metadata packet (PDF/A identification, Dublin Core title,
//! dates, producer, document ID, and the document metadata of Nghị định
//! 30/2020 Phụ lục VI under an extension schema), and an sRGB output intent
//! with its ICC profile. This module builds those bytes; `pdf` puts them in
//! the file. It knows nothing of pages or images.

use std::collections::BTreeMap;

/// Namespace of sohoa's own XMP properties. The `.invalid` host names no
/// real server.
pub(crate) const NS: &str = "http://sohoa.invalid/ns/1.0/";

/// Properties of the sohoa schema: Nghị định 30/2020 Phụ lục VI, and the note
/// that marks a copy of digitally signed files.
pub(crate) const PROPERTIES: [(&str, &str); 8] = [
    ("TypeName", "Tên loại văn bản (Nghị định 30/2020/NĐ-CP, Phụ lục VI)"),
    ("CodeNumber", "Số của văn bản"),
    ("CodeNotation", "Ký hiệu của văn bản"),
    ("IssuedDate", "Ngày, tháng, năm văn bản (yyyy-mm-dd)"),
    ("OrganName", "Tên cơ quan, tổ chức ban hành văn bản"),
    ("Subject", "Trích yếu nội dung"),
    ("PageAmount", "Số trang của văn bản"),
    ("DerivativeNote", "Bản số hóa không mang chữ ký số của bản gốc"),
];

fn esc(s: &str) -> String {
    s.chars()
        .filter(|c| !c.is_control() || *c == '\n' || *c == '\t')
        .collect::<String>()
        .replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// The XMP packet of a PDF/A-2b file. `extra` holds values of [`PROPERTIES`].
pub(crate) fn xmp(
    title: &str,
    producer: &str,
    date: &str,
    document_id: &str,
    extra: &BTreeMap<String, String>,
) -> Vec<u8> {
    let mut props = String::new();
    for (name, _) in PROPERTIES {
        if let Some(v) = extra.get(name) {
            props.push_str(&format!("   <sohoa:{name}>{}</sohoa:{name}>\n", esc(v)));
        }
    }
    let mut schema_props = String::new();
    for (name, description) in PROPERTIES {
        schema_props.push_str(&format!(
            "        <rdf:li rdf:parseType=\"Resource\"><pdfaProperty:name>{name}</pdfaProperty:name>\
             <pdfaProperty:valueType>Text</pdfaProperty:valueType><pdfaProperty:category>external</pdfaProperty:category>\
             <pdfaProperty:description>{}</pdfaProperty:description></rdf:li>\n",
            esc(description)
        ));
    }
    format!(
        "<?xpacket begin=\"\u{feff}\" id=\"W5M0MpCehiHzreSzNTczkc9d\"?>\n\
<x:xmpmeta xmlns:x=\"adobe:ns:meta/\">\n\
 <rdf:RDF xmlns:rdf=\"http://www.w3.org/1999/02/22-rdf-syntax-ns#\">\n\
  <rdf:Description rdf:about=\"\"\n\
    xmlns:pdfaid=\"http://www.aiim.org/pdfa/ns/id/\"\n\
    xmlns:dc=\"http://purl.org/dc/elements/1.1/\"\n\
    xmlns:xmp=\"http://ns.adobe.com/xap/1.0/\"\n\
    xmlns:pdf=\"http://ns.adobe.com/pdf/1.3/\"\n\
    xmlns:xmpMM=\"http://ns.adobe.com/xap/1.0/mm/\"\n\
    xmlns:sohoa=\"{NS}\"\n\
    xmlns:pdfaExtension=\"http://www.aiim.org/pdfa/ns/extension/\"\n\
    xmlns:pdfaSchema=\"http://www.aiim.org/pdfa/ns/schema#\"\n\
    xmlns:pdfaProperty=\"http://www.aiim.org/pdfa/ns/property#\">\n\
   <pdfaid:part>2</pdfaid:part>\n\
   <pdfaid:conformance>B</pdfaid:conformance>\n\
   <dc:format>application/pdf</dc:format>\n\
   <dc:title><rdf:Alt><rdf:li xml:lang=\"x-default\">{title}</rdf:li></rdf:Alt></dc:title>\n\
   <xmp:CreateDate>{date}</xmp:CreateDate>\n\
   <xmp:ModifyDate>{date}</xmp:ModifyDate>\n\
   <xmp:MetadataDate>{date}</xmp:MetadataDate>\n\
   <xmp:CreatorTool>{producer}</xmp:CreatorTool>\n\
   <pdf:Producer>{producer}</pdf:Producer>\n\
   <xmpMM:DocumentID>{document_id}</xmpMM:DocumentID>\n\
   <xmpMM:InstanceID>{document_id}</xmpMM:InstanceID>\n\
{props}\
   <pdfaExtension:schemas>\n\
    <rdf:Bag>\n\
     <rdf:li rdf:parseType=\"Resource\">\n\
      <pdfaSchema:schema>sohoa: Nghị định 30/2020/NĐ-CP Phụ lục VI</pdfaSchema:schema>\n\
      <pdfaSchema:namespaceURI>{NS}</pdfaSchema:namespaceURI>\n\
      <pdfaSchema:prefix>sohoa</pdfaSchema:prefix>\n\
      <pdfaSchema:property>\n\
       <rdf:Seq>\n\
{schema_props}\
       </rdf:Seq>\n\
      </pdfaSchema:property>\n\
     </rdf:li>\n\
    </rdf:Bag>\n\
   </pdfaExtension:schemas>\n\
  </rdf:Description>\n\
 </rdf:RDF>\n\
</x:xmpmeta>\n\
<?xpacket end=\"w\"?>",
        title = esc(title),
        producer = esc(producer),
        date = esc(date),
        document_id = esc(document_id),
    )
    .into_bytes()
}

/// A small ICC v2 display profile for sRGB (D50-adapted primaries, gamma 2.2
/// curves): the output intent's destination profile.
pub(crate) fn srgb_icc() -> Vec<u8> {
    fn s15(v: f64) -> [u8; 4] {
        ((v * 65536.0).round() as i32).to_be_bytes()
    }
    fn xyz(x: f64, y: f64, z: f64) -> Vec<u8> {
        let mut t = b"XYZ \0\0\0\0".to_vec();
        for v in [x, y, z] {
            t.extend_from_slice(&s15(v));
        }
        t
    }
    let desc = {
        let text = b"sRGB (sohoa)\0";
        let mut t = b"desc\0\0\0\0".to_vec();
        t.extend_from_slice(&(text.len() as u32).to_be_bytes());
        t.extend_from_slice(text);
        t.extend_from_slice(&[0; 4 + 4 + 2 + 1 + 67]);
        t
    };
    let cprt = b"text\0\0\0\0No copyright, use freely\0".to_vec();
    let curv = {
        let mut t = b"curv\0\0\0\0".to_vec();
        t.extend_from_slice(&1u32.to_be_bytes());
        t.extend_from_slice(&0x0233u16.to_be_bytes());
        t.extend_from_slice(&[0, 0]);
        t
    };
    let tags: Vec<(&[u8; 4], Vec<u8>)> = vec![
        (b"desc", desc),
        (b"cprt", cprt),
        (b"wtpt", xyz(0.9642, 1.0, 0.8249)),
        (b"rXYZ", xyz(0.4361, 0.2225, 0.0139)),
        (b"gXYZ", xyz(0.3851, 0.7169, 0.0971)),
        (b"bXYZ", xyz(0.1431, 0.0606, 0.7141)),
        (b"rTRC", curv.clone()),
        (b"gTRC", curv.clone()),
        (b"bTRC", curv),
    ];
    let table_len = 4 + 12 * tags.len();
    let mut data = Vec::new();
    let mut table = (tags.len() as u32).to_be_bytes().to_vec();
    for (sig, body) in &tags {
        let offset = 128 + table_len + data.len();
        table.extend_from_slice(*sig);
        table.extend_from_slice(&(offset as u32).to_be_bytes());
        table.extend_from_slice(&(body.len() as u32).to_be_bytes());
        data.extend_from_slice(body);
        while data.len() % 4 != 0 {
            data.push(0);
        }
    }
    let size = 128 + table.len() + data.len();
    let mut h = Vec::with_capacity(size);
    h.extend_from_slice(&(size as u32).to_be_bytes());
    h.extend_from_slice(&[0; 4]);
    h.extend_from_slice(&0x0210_0000u32.to_be_bytes());
    h.extend_from_slice(b"mntrRGB XYZ ");
    for v in [2024u16, 1, 1, 0, 0, 0] {
        h.extend_from_slice(&v.to_be_bytes());
    }
    h.extend_from_slice(b"acsp");
    h.extend_from_slice(&[0; 24]); // platform, flags, manufacturer, model, attributes
    h.extend_from_slice(&[0; 4]); // rendering intent
    for v in [0.9642, 1.0, 0.8249] {
        h.extend_from_slice(&s15(v));
    }
    h.extend_from_slice(&[0; 4 + 16 + 28]); // creator, profile ID, reserved
    debug_assert_eq!(h.len(), 128);
    h.extend_from_slice(&table);
    h.extend_from_slice(&data);
    h
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn icc_profile_is_well_formed() {
        let p = srgb_icc();
        assert_eq!(u32::from_be_bytes([p[0], p[1], p[2], p[3]]) as usize, p.len());
        assert_eq!(&p[36..40], b"acsp");
        assert_eq!(&p[12..24], b"mntrRGB XYZ ");
        assert_eq!(u32::from_be_bytes([p[128], p[129], p[130], p[131]]), 9);
    }

    #[test]
    fn xmp_escapes_text() {
        let mut extra = BTreeMap::new();
        extra.insert("Subject".to_string(), "Về việc <cấp> & \"trả\"".to_string());
        let x = String::from_utf8(xmp("Hồ sơ <1>", "sohoa", "2024-01-01T00:00:00Z", "uuid:x", &extra)).unwrap();
        assert!(x.contains("<pdfaid:part>2</pdfaid:part>") && x.contains("<pdfaid:conformance>B</pdfaid:conformance>"));
        assert!(x.contains("Hồ sơ &lt;1&gt;"));
        assert!(x.contains("<sohoa:Subject>Về việc &lt;cấp&gt; &amp; &quot;trả&quot;</sohoa:Subject>"));
    }
}
