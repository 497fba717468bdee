"""The API's own words, in English and Simplified Chinese.

The record service's problems carry their own bilingual messages; these are the ones only the
API says (bad request syntax, preconditions, unknown routes). They live here rather than in the
gettext catalogue so the API can speak both languages in requests, jobs and tests alike, and
every entry is checked to have both (tests/api/test_problems.py).
"""

from __future__ import annotations

from collections.abc import Mapping

from tessera.metadata.model import Label

MESSAGES: Mapping[str, Mapping[str, str]] = {
    "unauthorized": {
        "en": "Sign in, or send an API token as Authorization: Bearer <token>.",
        "zh-CN": "请先登录，或以 Authorization: Bearer <令牌> 发送 API 令牌。",
    },
    "csrf": {
        "en": "A request made with the browser session needs the X-CSRFToken header (or use an API token).",
        "zh-CN": "使用浏览器会话发出的请求需要 X-CSRFToken 请求头（或改用 API 令牌）。",
    },
    "bad_json": {
        "en": "The request body is not valid JSON: %(reason)s",
        "zh-CN": "请求体不是有效的 JSON：%(reason)s",
    },
    "not_an_object": {
        "en": "The request body must be a JSON object ({...}).",
        "zh-CN": "请求体必须是 JSON 对象（{...}）。",
    },
    "bad_parameters": {
        "en": "Some query parameters are not valid: %(names)s.",
        "zh-CN": "以下查询参数无效：%(names)s。",
    },
    "bad_body": {
        "en": "Some members of the request body are not valid: %(names)s.",
        "zh-CN": "请求体中以下内容无效：%(names)s。",
    },
    "unknown_parameter": {
        "en": "This endpoint takes no parameter called '%(name)s'.",
        "zh-CN": "此接口没有名为“%(name)s”的参数。",
    },
    "unknown_object": {
        "en": "There is no object called '%(object)s'.",
        "zh-CN": "不存在名为“%(object)s”的对象。",
    },
    "not_found": {
        "en": "There is nothing at this address.",
        "zh-CN": "此地址不存在。",
    },
    "method_not_allowed": {
        "en": "This address does not take %(method)s; it takes %(allowed)s.",
        "zh-CN": "此地址不支持 %(method)s 请求，支持：%(allowed)s。",
    },
    "if_match_required": {
        "en": "Send the version you read as If-Match (the ETag of the record, e.g. \"3\").",
        "zh-CN": "请在 If-Match 中发送您读取时的版本（记录的 ETag，例如 \"3\"）。",
    },
    "if_match_invalid": {
        "en": "If-Match must carry the ETag of the record you read, e.g. \"3\".",
        "zh-CN": "If-Match 必须是您读取的记录的 ETag，例如 \"3\"。",
    },
    "too_large": {
        "en": "The request body is larger than %(limit)s bytes.",
        "zh-CN": "请求体超过 %(limit)s 字节。",
    },
    "too_many_requests": {
        "en": "Too many requests. Wait a moment and try again.",
        "zh-CN": "请求过于频繁，请稍后再试。",
    },
    "query_problems": {
        "en": "The query cannot run; see each parameter.",
        "zh-CN": "查询无法执行，请查看各参数的说明。",
    },
    "batch_failed": {
        "en": "%(failed)s of %(total)s rows were refused, so nothing was saved; see each row.",
        "zh-CN": "%(total)s 行中有 %(failed)s 行被拒绝，因此没有保存任何内容；请查看每一行。",
    },
    "unknown_action": {
        "en": "%(object)s records have no action called '%(action)s'.",
        "zh-CN": "%(object)s 记录没有名为“%(action)s”的操作。",
    },
    "not_unique_field": {
        "en": "'%(name)s' is not a unique field of %(object)s, so it cannot match records.",
        "zh-CN": "“%(name)s”不是 %(object)s 的唯一字段，无法用来匹配记录。",
    },
    "unknown_kind": {
        "en": "There is no metadata schema called '%(kind)s'.",
        "zh-CN": "不存在名为“%(kind)s”的元数据模式。",
    },
    "no_approval_process": {
        "en": "%(object)s records have no approval process.",
        "zh-CN": "%(object)s 记录没有审批流程。",
    },
    "unknown_member": {
        "en": "There is no member called '%(name)s' here.",
        "zh-CN": "此处没有名为“%(name)s”的内容。",
    },
    "enter_ids": {
        "en": "Give a list of notification ids.",
        "zh-CN": "请提供通知编号的列表。",
    },
    "enter_text": {
        "en": "Enter text.",
        "zh-CN": "请输入文本。",
    },
    "server_error": {
        "en": "Something went wrong on our side; nothing was saved. The error has been logged.",
        "zh-CN": "服务器出错，未保存任何内容。错误已记录。",
    },
    "true_or_false": {
        "en": "expected true or false",
        "zh-CN": "应为 true 或 false",
    },
    "bulk_unknown_member": {
        "en": "unknown member; a bulk request has %(members)s",
        "zh-CN": "未知成员；批量请求的成员有：%(members)s",
    },
    "bulk_operation": {
        "en": "expected one of %(choices)s, got %(value)s",
        "zh-CN": "应为以下之一：%(choices)s，实际为 %(value)s",
    },
    "bulk_records": {
        "en": "expected a list of 1 to %(max)s records",
        "zh-CN": "应为包含 1 到 %(max)s 条记录的列表",
    },
    "bulk_not_objects": {
        "en": "every record is a JSON object; these are not: %(rows)s",
        "zh-CN": "每条记录都应是 JSON 对象；以下几条不是：%(rows)s",
    },
}


def say(key: str, locale: str = "en", **params: object) -> str:
    """The message ``key`` in ``locale`` (English when the locale has none), parameters filled in."""
    text = Label(MESSAGES[key])(locale)
    return text % params if params else text
