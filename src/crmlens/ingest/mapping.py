"""Which source header feeds which canonical column: the user's mapping first, then synonyms.

Synonyms cover the headers CRM and shop exports use in Chinese and English, so that
``crmlens ingest --propose FILE`` can suggest a mapping and unmapped exports still load.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

from crmlens.schema import Table

SYNONYMS: dict[str, list[str]] = {
    "customer_key": [
        "customer_key",
        "customer_id",
        "customerid",
        "cust_id",
        "client_id",
        "member_id",
        "user_id",
        "userid",
        "buyer_id",
        "客户id",
        "客户编号",
        "客户号",
        "会员id",
        "会员编号",
        "用户id",
        "买家id",
    ],
    "name": [
        "name",
        "full_name",
        "customer_name",
        "contact_name",
        "姓名",
        "客户姓名",
        "客户名称",
        "名字",
        "联系人",
    ],
    "email": ["email", "e_mail", "mail", "email_address", "邮箱", "电子邮件", "电子邮箱"],
    "phone": [
        "phone",
        "mobile",
        "telephone",
        "tel",
        "phone_number",
        "mobile_phone",
        "cell",
        "手机",
        "手机号",
        "手机号码",
        "电话",
        "联系电话",
    ],
    "birth_date": ["birth_date", "birthday", "dob", "date_of_birth", "birthdate", "生日", "出生日期"],
    "gender": ["gender", "sex", "性别"],
    "address": ["address", "street", "street_address", "地址", "收货地址", "详细地址"],
    "city": ["city", "town", "城市", "所在城市"],
    "country": ["country", "country_code", "国家"],
    "external_id": ["external_id", "loyalty_id", "card_no", "membership_no", "会员卡号"],
    "signup_at": [
        "signup_at",
        "signup_date",
        "registered_at",
        "register_time",
        "created_at",
        "join_date",
        "注册时间",
        "注册日期",
        "开户时间",
    ],
    "updated_at": ["updated_at", "modified_at", "last_modified", "更新时间"],
    "consent_marketing": [
        "consent_marketing",
        "marketing_consent",
        "opt_in",
        "newsletter",
        "营销同意",
        "接收营销",
    ],
    "consent_profiling": ["consent_profiling", "profiling_consent", "画像同意"],
    "order_id": [
        "order_id",
        "orderid",
        "order_no",
        "order_number",
        "invoice",
        "invoiceno",
        "invoice_no",
        "订单号",
        "订单编号",
        "订单id",
    ],
    "line_no": ["line_no", "line", "line_number", "item_no", "行号", "明细号"],
    "ts": [
        "ts",
        "timestamp",
        "time",
        "date",
        "datetime",
        "order_date",
        "order_time",
        "invoicedate",
        "created",
        "event_time",
        "下单时间",
        "订单时间",
        "时间",
        "日期",
        "创建时间",
    ],
    "product_id": [
        "product_id",
        "productid",
        "sku",
        "item_id",
        "stockcode",
        "stock_code",
        "商品id",
        "商品编号",
        "产品id",
        "产品编号",
        "货号",
    ],
    "quantity": ["quantity", "qty", "units", "数量", "购买数量"],
    "unit_price": ["unit_price", "unitprice", "price_each", "单价"],
    "price": ["price", "list_price", "价格", "售价"],
    "discount": ["discount", "discount_amount", "折扣", "优惠", "优惠金额"],
    "amount": ["amount", "total", "revenue", "sales", "line_total", "金额", "总金额", "实付金额", "销售额"],
    "channel": ["channel", "source_channel", "渠道", "销售渠道"],
    "currency": ["currency", "币种", "货币"],
    "status": ["status", "state", "状态", "订单状态"],
    "category": ["category", "product_category", "类别", "品类", "类目"],
    "description": ["description", "desc", "details", "描述", "商品描述"],
    "event_type": ["event_type", "event", "action", "事件", "行为"],
    "session_id": ["session_id", "session", "会话id"],
    "text": ["text", "review", "comment", "content", "body_text", "评论", "评价", "内容"],
    "rating": ["rating", "score", "stars", "评分", "星级"],
    "language": ["language", "lang", "语言"],
    "subject": ["subject", "title", "主题", "标题"],
    "body": ["body", "message", "description_text", "问题描述", "正文"],
    "priority": ["priority", "优先级"],
    "resolved_at": ["resolved_at", "closed_at", "resolution_time", "解决时间", "关闭时间"],
    "campaign_id": ["campaign_id", "campaign", "活动id", "活动编号"],
    "treatment": ["treatment", "treated", "group", "is_treatment", "实验组"],
    "responded": ["responded", "response", "converted_flag", "是否响应"],
    "feedback_id": ["feedback_id", "review_id", "评论id"],
    "ticket_id": ["ticket_id", "case_id", "工单号", "工单id"],
    "event_id": ["event_id"],
    "lead_id": ["lead_id", "prospect_id", "线索id"],
    "converted": ["converted", "is_converted", "是否转化"],
    "lead_source": ["lead_source", "线索来源"],
}


def normalise_header(header: str) -> str:
    """Lower case, width-folded, with spaces, dashes and dots as underscores."""
    text = unicodedata.normalize("NFKC", header).strip().lower()
    return re.sub(r"[\s\-./]+", "_", text).strip("_")


_LOOKUP = {normalise_header(s): canonical for canonical, names in SYNONYMS.items() for s in names}


@dataclass(frozen=True)
class Mapping:
    """canonical column -> source header, and the headers that map to nothing (kept in attributes)."""

    columns: dict[str, str]
    unmapped: list[str]


def propose(headers: list[str], table: Table | None = None) -> dict[str, str]:
    """header -> canonical column, for the headers a synonym recognises (restricted to ``table``)."""
    allowed = set(table.column_names) if table else None
    proposal: dict[str, str] = {}
    taken: set[str] = set()
    for header in headers:
        canonical = _LOOKUP.get(normalise_header(header))
        if canonical and (allowed is None or canonical in allowed) and canonical not in taken:
            proposal[header] = canonical
            taken.add(canonical)
    return proposal


def resolve(headers: list[str], explicit: dict[str, str], table: Table) -> tuple[Mapping, list[str]]:
    """Apply the user's mapping, then synonyms; return the mapping and a list of problems."""
    problems: list[str] = []
    columns: dict[str, str] = {}
    for header, canonical in explicit.items():
        if header not in headers:
            problems.append(
                f"columns: {header!r} is not a header of the file (headers: {', '.join(headers)})"
            )
        elif canonical not in table.column_names:
            problems.append(
                f"columns.{header}: {canonical!r} is not a column of {table.name} "
                f"(columns: {', '.join(table.column_names)})"
            )
        else:
            columns[canonical] = header
    mapped_headers = set(explicit)
    for header, canonical in propose([h for h in headers if h not in mapped_headers], table).items():
        if canonical not in columns and canonical not in (
            "source",
            "row_number",
            "attributes",
            "loaded_at",
            "customer_id",
        ):
            columns[canonical] = header
    used = set(columns.values())
    unmapped = [h for h in headers if h not in used]
    return Mapping(columns, unmapped), problems
