"""Every sentence a person reads in chat, in zh-CN, in one place."""

from __future__ import annotations

from bot.domain.appeal import Action, Source, Status

STATUS = {
    Status.SUBMITTED: "待受理",
    Status.DISPATCHED: "已交办",
    Status.IN_PROGRESS: "办理中",
    Status.RESOLVED: "已办结",
    Status.VERIFYING: "核实中",
    Status.RECTIFYING: "整改中",
    Status.CLOSED: "已闭环",
    Status.REJECTED: "不予受理",
    Status.WITHDRAWN: "已撤回",
}

ACTION = {
    Action.SUBMIT: "提交诉求",
    Action.DISPATCH: "交办",
    Action.ACCEPT: "签收",
    Action.RETURN: "退回",
    Action.ESCALATE: "提级",
    Action.RESOLVE: "办结",
    Action.REJECT: "不予受理",
    Action.MERGE: "合并",
    Action.WITHDRAW: "撤回",
    Action.RATE_GOOD: "评价",
    Action.RATE_BAD: "评价（差评）",
    Action.RATING_EXPIRED: "评价期满未评价",
    Action.VERIFY_VALID: "差评核实有效",
    Action.VERIFY_INVALID: "差评核实无效",
    Action.SUPPLEMENT: "补充材料",
    Action.PROGRESS: "办理进展",
    Action.EXTEND: "延期",
    Action.URGE: "督办",
}

SOURCE = {
    Source.ZZD: "浙政钉", Source.DINGTALK: "钉钉", Source.TELEGRAM: "Telegram", Source.WEB: "网页",
    Source.CONSOLE: "控制台", Source.HOTLINE: "12345-8 热线", Source.OFFLINE: "线下窗口",
    Source.GRID_VISIT: "网格走访", Source.CAMPAIGN: "专项行动",
    Source.CONSULTATION: "人大代表·政协委员·商会征询", Source.INDUSTRY_CHAIN: "产业链",
    Source.QINQING: "亲清活动", Source.LEADER_VISIT: "领导走访",
}

# Refusals and validation messages, by error code (bot.domain.errors).
ERRORS = {
    "illegal_transition": "诉求 {number} 当前状态为「{status_label}」，不能{action_label}。",
    "appeal_not_found": "没有找到编号为 {number} 的诉求，请核对编号（格式如 QH20261125-0007）。",
    "appeal_not_yours": "诉求 {number} 不是您单位提交的，无法查看或操作。",
    "supplement_enterprise_only": "补充材料只能由提交诉求的企业进行。",
    "withdraw_enterprise_only": "撤回只能由提交诉求的企业进行。",
    "supplement_empty": "补充内容不能为空，请发送：补充 编号 内容。",
    "uscc_length": "统一社会信用代码应为 18 位，您输入的是 {length} 位，请核对后重新输入。",
    "uscc_char": "统一社会信用代码第 {position} 位「{char}」不是有效字符（不使用 I、O、Z、S、V），请核对。",
    "uscc_region": "统一社会信用代码第 {position} 位应为数字（第 3–8 位是行政区划码），请核对。",
    "uscc_check": "统一社会信用代码校验未通过：第 18 位校验码「{char}」与前 17 位不符，请核对是否有输错的字符。",
    "phone": "「{value}」不是有效的手机号码，请输入 11 位大陆手机号，如 13800138000。",
    "company_length": "企业名称应为 2–{max} 个字，请重新输入。",
    "contact": "联系人姓名不能为空、不能含数字，且不超过 {max} 个字，请重新输入。",
    "text_short": "问题描述太短（{length} 字），请至少写 {min} 个字，说清楚遇到了什么问题、希望怎样解决。",
    "text_long": "问题描述太长（{length} 字），请控制在 {max} 字以内，可先提交主要内容，再用「补充」追加。",
    "area_unknown": "没有找到这个乡镇（街道），请从列表中选择或回复序号。",
    "category_missing": "请先选择问题类别。",
    "invalid_input": "输入有误，请检查后重试。",
    "forbidden": "您没有权限进行这个操作。",
    "not_found": "没有找到相关记录。",
}

GENERIC_FAILURE = "抱歉，系统暂时无法处理您的消息，请稍后再试。您的消息没有丢失，如已提交诉求可发送「查询」确认。"

# ---- global ----
CANCELLED = "已取消当前操作，未保存任何内容。需要时请发送「我要反映」重新开始。"
NOTHING_TO_CANCEL = "当前没有进行中的操作。"
NOTHING_TO_GO_BACK = "已经是第一步了，无法再返回。发送「取消」可放弃本次填报。"
EXPIRED = "您上次的填报超过 {minutes} 分钟未完成，已自动取消，内容未提交。如需反映问题，请重新发送。"
UNKNOWN_COMMAND = "没有听懂「{text}」。\n\n{help}"
BUSY_IN_DIALOGUE = "您正在{what}，请先回答上面的问题；发送「返回」回到上一步，发送「取消」放弃。"
CHOICE_OUT_OF_RANGE = "没有第 {n} 项，请回复 1–{max} 之间的序号。"

HELP_ENTERPRISE = (
    "企呼 · 企业诉求服务\n"
    "· 直接描述遇到的问题，或发送「我要反映」开始填报\n"
    "· 查询：查看您的未办结诉求；查询 编号：查看进度和办理记录\n"
    "· 补充 编号 内容：为诉求补充情况\n"
    "· 撤回 编号：撤回诉求\n"
    "填报中可随时发送「返回」回到上一步、「取消」放弃、「帮助」查看说明。"
)
HELP_STAFF = (
    "企呼 · 工作人员（{role}：{name}，{unit}）\n"
    "· 查询 编号：查看诉求详情与办理记录\n"
    "更多办理命令（待办、签收、办结等）将按角色开放。"
)
ROLE = {"handler": "承办人", "dispatcher": "调度员", "leader": "领导", "admin": "管理员"}

# ---- filing ----
FILING_WHAT = "填报诉求"
ASK_TEXT = "请描述您遇到的问题（{min}–{max} 字）：发生了什么、涉及哪个部门或地点、希望怎样解决。"
PROFILE_REUSED = (
    "已为您带入企业信息：{company}（{uscc_masked}），联系人 {contact} {phone_masked}。"
    "如需修改，可在提交前选择「修改」。"
)
ASK_COMPANY = "请输入企业全称（与营业执照一致）："
ASK_USCC = "请输入统一社会信用代码（18 位，见营业执照）："
ASK_CONTACT = "请输入联系人姓名："
ASK_PHONE = "请输入联系人手机号："
ASK_AREA = "请选择企业所在的乡镇（街道）/企业社区："
ASK_CATEGORY = "根据您的描述，建议归入以下类别，请选择："
ASK_CATEGORY_NONE = "未能自动判断问题类别，请从下列类别中选择："
CATEGORY_OTHER = "其他类别…"
CATEGORY_EVIDENCE = "{label}（依据：{words}）"
ASK_CATEGORY_ALL = "请选择问题类别（回复序号或类别名称）："
CATEGORY_UNKNOWN = "没有「{text}」这个类别，请回复列表中的序号或名称。"
ASK_TYPE = "请选择诉求类型："
TYPE_UNKNOWN = "请回复 咨询、求助、投诉 或 建议。"
SUMMARY = (
    "请确认您的诉求：\n"
    "企业：{company}\n信用代码：{uscc}\n联系人：{contact} {phone}\n所在地：{area}\n"
    "类型：{type}　类别：{category}\n问题描述：{text}{attachments}"
)
SUMMARY_ATTACHMENTS = "\n附件：{n} 个"
CONFIRM_SUBMIT = "确认提交"
CONFIRM_EDIT = "修改内容"
CONFIRM_CANCEL = "取消"
ASK_CONFIRM_AGAIN = "请回复「确认提交」「修改内容」或「取消」。"
ASK_EDIT = "请选择要修改的内容："
EDIT_FIELDS = {
    "text": "问题描述", "company": "企业名称", "uscc": "信用代码", "contact": "联系人",
    "phone": "手机号", "area": "所在乡镇", "category": "问题类别", "type": "诉求类型",
}
SUBMITTED = (
    "✅ 诉求已登记，编号 {number}。\n"
    "类别：{category}（{type}）　当前状态：待受理\n"
    "我们承诺在 {promised}（{days} 个工作日）前办结{gap}。\n"
    "办理进展会及时通知您；也可随时发送「查询 {number}」查看。"
)
CALENDAR_GAP = "（节假日数据缺失，按周一至周五计算）"
ATTACHMENT_ADDED = "已收到附件「{name}」，将随诉求一并提交。"

NEW_OR_SUPPLEMENT = "您有未办结的诉求。这条消息是新问题，还是对已有诉求的补充？"
NEW_APPEAL_CHOICE = "作为新诉求填报"
SUPPLEMENT_TO = "补充到 {number}（{category}）"

# ---- query / supplement / withdraw ----
NO_OPEN_APPEALS = "您目前没有未办结的诉求。直接描述问题即可开始填报。"
OPEN_LIST_HEAD = "您的未办结诉求（{n} 件）："
OPEN_LIST_LINE = "{number}　{status}　{category}　提交于 {submitted}"
OPEN_LIST_TAIL = "发送「查询 编号」查看办理记录。"
DETAIL = (
    "诉求 {number}\n状态：{status}\n企业：{company}\n类别：{category}（{type}）\n"
    "提交：{submitted}　承诺办结：{promised}\n问题：{text}\n\n办理记录：\n{timeline}"
)
TIMELINE_LINE = "{at}　{who}　{action}{note}"
SUPPLEMENT_USAGE = "请按格式发送：补充 编号 内容，例如：补充 QH20261125-0007 已补充发票照片。"
SUPPLEMENT_PICK = "您有多件未办结诉求，请选择要补充到哪一件："
SUPPLEMENT_NONE = "您没有可补充的诉求。"
SUPPLEMENTED = "已将补充内容记入诉求 {number}，承办单位会看到。"
WITHDRAW_USAGE = "请按格式发送：撤回 编号 [原因]，例如：撤回 QH20261125-0007 问题已自行解决。"
WITHDRAW_CONFIRM = "确定要撤回诉求 {number}（{category}）吗？撤回后不再办理。"
WITHDRAW_YES = "确认撤回"
WITHDRAW_NO = "不撤回"
WITHDRAWN = "诉求 {number} 已撤回。如问题仍存在，可随时重新反映。"
WITHDRAW_KEPT = "好的，诉求 {number} 继续办理。"

# ---- notifications ----
NEW_APPEAL_FOR_DISPATCHER = (
    "【新诉求】{number} {company}（{area}）\n类别：{category}（{type}）\n{text_short}\n请及时分派。"
)
WITHDRAWN_FOR_STAFF = "【撤回】诉求 {number} 已被企业撤回。原因：{reason}"
SUPPLEMENT_FOR_STAFF = "【补充】诉求 {number} 企业补充：{text}"
COMMAND_NOT_FOR_ROLE = "「{command}」不是{role}可用的命令。发送「帮助」查看您可以使用的命令。"
ROLE_LABEL = {"enterprise": "企业用户", **ROLE}

# ---- similar appeals (issue 7) ----
SIMILAR_APPEAL_QUESTION = "这条消息与诉求 {number}（{category}）内容相近，是否为对 {number} 的补充？"
