"""cdsflow: đánh giá mức độ chuyển đổi số trong giáo dục."""
