"""What the merchant reads about a photo (Chinese); the bot may word its own confirmation."""

from __future__ import annotations

TYPE_THE_DETAILS = (
    "请直接打字告诉我参考号（或凭证号）、交易金额和交易时间，"
    "比如“参考号612300000001，268元，今天下午3点”。"
)
NOTHING_READ = "这张照片上我没能认出交易信息。" + TYPE_THE_DETAILS
REJECTED = "这张图片我打不开（格式不对、已损坏或尺寸太大）。" + TYPE_THE_DETAILS
TIMEOUT = "这张照片识别用时太长，我先不读了。" + TYPE_THE_DETAILS
FAILED = "照片识别暂时出了问题。" + TYPE_THE_DETAILS
CONFIRM = "我从照片上看到：{summary}，对吗？"

# Identifiers the merchant rarely quotes, named when a photo shows nothing else.
FIELD_NAMES = {"terminal_no": "终端号", "merchant_no": "商户编号", "batch_no": "批次号"}

# Internal API: the photo has not been read (yet), or is not in that session.
READING_NOT_FOUND = "这张照片还没有识别结果。"
