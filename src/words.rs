//! Vietnamese words for what the manifest records in keys (field names,
//! flags) and in UTC, for everything people read: the report, the review
//! station, needs_review and the messages of `sohoa correct`. It exists so
//! that one list says how each key reads, and so that the modules that show
//! it do not import each other for it.

/// The Vietnamese name of a field of the built-in pipeline (a custom
/// pipeline's own field names are shown as they are).
pub(crate) fn field_label(name: &str) -> &str {
    match name {
        "ma_ho_so" => "Mã hồ sơ",
        "ho_ten" => "Họ tên",
        "so_dinh_danh" => "Số định danh",
        "ngay_sinh" => "Ngày sinh",
        "so_dien_thoai" => "Số điện thoại",
        "dia_chi" => "Địa chỉ",
        "ma_thu_tuc" => "Mã thủ tục",
        "ten_thu_tuc" => "Tên thủ tục",
        "ngay_tiep_nhan" => "Ngày tiếp nhận",
        "ngay_hen_tra" => "Ngày hẹn trả",
        "gio_tiep_nhan" => "Giờ tiếp nhận",
        "gio_hen_tra" => "Giờ hẹn trả",
        "so_ky_hieu" => "Số, ký hiệu",
        other => other,
    }
}

/// What a page or field flag means, in Vietnamese.
pub(crate) fn flag_label(flag: &str) -> String {
    match flag {
        "low_dpi" => "độ phân giải dưới 200 dpi",
        "dpi_estimated" => "độ phân giải ước lượng",
        "orientation_uncertain" => "chiều trang chưa chắc chắn",
        "orientation_by_recognition" => "chiều trang xác định qua nhận dạng",
        "upscaled" => "phóng to để nhận dạng",
        "sharpened" => "làm nét ảnh mờ để nhận dạng",
        "cleaned" => "làm sạch nền",
        "binarized" => "chuyển đen trắng",
        "dewarped" => "nắn thẳng dòng chữ cong",
        "show_through" => "làm mờ chữ mặt sau in thấu",
        "softened" => "làm mềm nét ảnh đen trắng",
        "blurred_marks_lifted" => "xóa vệt mờ do máy photo",
        "unequal_resolution" => "độ phân giải ngang dọc khác nhau, đã kéo về điểm ảnh vuông",
        "second_reader" => "đọc lại bằng bộ đọc thứ hai",
        "one_block" => "đọc cả trang như một khối chữ",
        "boxed_digits" => "đọc riêng dãy số trong ô",
        "missed_text_read" => "đọc lại phần chữ bị bỏ sót",
        "table_cells_read" => "đọc riêng các ô của bảng kẻ",
        "lines_from_other_reading" => "lấy dòng đọc tốt hơn từ lần đọc khác",
        "rendered" => "dựng ảnh từ PDF",
        "error" => "trang lỗi",
        "blank" => "trang trắng",
        "poor_reading" => "đọc kém, nên quét lại",
        "conflict" => "các trang ghi khác nhau",
        "invalid_name" => "họ tên không hợp lệ",
        "invalid_dossier_code" => "mã hồ sơ sai dạng",
        "invalid_date_in_code" => "ngày trong mã hồ sơ không có thật",
        "invalid_id_length" => "số định danh không đủ 12 chữ số",
        "unknown_province_code" => "mã tỉnh trong số định danh không có",
        "invalid_date" => "ngày không có thật",
        "implausible_date" => "ngày khó tin",
        "invalid_phone" => "số điện thoại sai dạng",
        "unknown_phone_prefix" => "đầu số điện thoại không có",
        "invalid_procedure_code" => "mã thủ tục sai dạng",
        "invalid_time" => "giờ không hợp lệ",
        "incomplete_address" => "địa chỉ thiếu tên một cấp hành chính",
        "id_birth_mismatch" => "số định danh không khớp ngày sinh",
        "code_date_mismatch" => "ngày trong mã hồ sơ khác ngày tiếp nhận",
        "before_received" => "ngày hẹn trả trước ngày tiếp nhận",
        "procedure_name_mismatch" => "mã thủ tục không khớp tên thủ tục",
        "procedure_from_form" => "thủ tục suy ra từ tờ khai hoặc đơn trong hồ sơ, cần xác nhận",
        other => return other.replace('_', " "),
    }
    .to_string()
}

/// Vietnam time (UTC+7, no daylight saving) of an RFC 3339 time, to the
/// second: "06/05/2024 21:03:12".
pub(crate) fn local_time(rfc3339: &str) -> String {
    use time::format_description::well_known::Rfc3339;
    let Ok(t) = time::OffsetDateTime::parse(rfc3339, &Rfc3339) else { return rfc3339.to_string() };
    let vn = time::UtcOffset::from_hms(7, 0, 0).expect("a valid offset");
    let t = t.to_offset(vn);
    format!(
        "{:02}/{:02}/{} {:02}:{:02}:{:02}",
        t.day(),
        u8::from(t.month()),
        t.year(),
        t.hour(),
        t.minute(),
        t.second()
    )
}
