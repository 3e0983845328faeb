"""Every sentence a person reads in chat, in zh-CN, in one place."""

from __future__ import annotations

from bot.domain.appeal import Action, Appeal, Source, Status

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
    Action.RETAG: "更正类别",
}

SOURCE = {
    Source.ZZD: "浙政钉", Source.DINGTALK: "钉钉", Source.TELEGRAM: "Telegram", Source.WEB: "网页",
    Source.CONSOLE: "控制台", Source.HOTLINE: "12345-8 热线", Source.OFFLINE: "线下窗口",
    Source.GRID_VISIT: "网格走访", Source.CAMPAIGN: "专项行动",
    Source.CONSULTATION: "人大代表·政协委员·商会征询", Source.INDUSTRY_CHAIN: "产业链",
    Source.QINQING: "亲清活动", Source.LEADER_VISIT: "领导走访", Source.API: "系统接口",
}


def source_label(appeal: Appeal) -> str:
    """The entry source a client system named (12345热线, 企呼我应 …), else the channel's name."""
    entry = appeal.flags.get("entry_source")
    return str(entry) if entry else SOURCE.get(appeal.source, appeal.source.value)

# Refusals and validation messages, by error code (bot.domain.errors).
ERRORS = {
    "illegal_transition": "诉求 {number} 当前状态为「{status_label}」，不能{action_label}。",
    "appeal_not_found": "没有找到编号为 {number} 的诉求，请核对编号（格式如 QH20261125-0007）。",
    "appeal_not_yours": "诉求 {number} 不是您本人提交的：只有提交人和经核验的本企业人员可以查看或操作。",
    "verify_not_allowed": "核验只能由服务中心调度员，或已核验的本企业人员进行。",
    "claim_not_found": "没有找到编号为 {id} 的待核验身份申请，请发送「核验」查看列表。",
    "claim_settled": "身份申请 {id} 已经处理过了，无需重复核验。",
    "verify_reason_missing": "拒绝时请写明理由：核验 编号 拒绝 理由。",
    "supplement_enterprise_only": "补充材料只能由提交诉求的企业进行。",
    "withdraw_enterprise_only": "撤回只能由提交诉求的企业进行。",
    "supplement_empty": "补充内容不能为空，请发送：补充 编号 内容。",
    "uscc_length": "统一社会信用代码应为 18 位，您输入的是 {length} 位，请核对后重新输入。",
    "uscc_char": "统一社会信用代码第 {position} 位「{char}」不是有效字符（不使用 I、O、Z、S、V），请核对。",
    "uscc_region": "统一社会信用代码第 {position} 位应为数字（第 3–8 位是行政区划码），请核对。",
    "uscc_check": "统一社会信用代码校验未通过：第 18 位校验码「{char}」与前 17 位不符，请核对是否有输错的字符。",
    "phone": ("「{value}」不是有效的手机号码，请输入 11 位手机号（如 13800138000）"
              "或带区号的座机（如 0571-88886666，分机写在后面：0571-88886666-123）。"),
    "company_length": "企业名称应为 2–{max} 个字，请重新输入。",
    "contact": "联系人姓名不能为空、不能含数字，且不超过 {max} 个字，请重新输入。",
    "not_a_name_question": "「{value}」像是一个问题，不是姓名。",
    "not_a_name_sentence": "「{value}」像是一句话，不是姓名。请只输入联系人的姓名，如：张伟。",
    "contact_is_number": "「{value}」是一串数字，不是姓名。电话稍后再填，这里请输入联系人的姓名，如：张伟。",
    "contact_too_short": "「{value}」只有一个字，请输入联系人的完整姓名，如：张伟。",
    "not_a_company_question": "「{value}」像是一个问题，不是企业名称。",
    "not_a_company_sentence": ("「{value}」像是一句话，不是企业名称。"
                               "请输入营业执照上的企业全称，如：示范精密机械有限公司。"),
    "company_is_code": "这是统一社会信用代码，下一步再填。这里请输入企业全称（与营业执照一致）。",
    "company_is_number": "「{value}」是一串数字，不是企业名称。请输入营业执照上的企业全称。",
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
GREETING = "您好！这里是企呼，企业诉求服务。\n\n{help}"
NOT_AN_OPTION = "「{text}」不是下面的选项之一。"
DID_YOU_MEAN = "您是不是要：{command}？点下面的按钮，或直接发送「{text}」。"
DIALOGUE_KEPT = "（您正在进行的{what}还在，接着上面的问题继续。）"
DIALOGUE_SET_ASIDE = "您刚才进行的{what}已放下，未保存；需要时可重新开始。"
CHATTER_IN_DIALOGUE = "您好！您正在{what}，请回答下面的问题；发送「取消」放弃。"
ANSWER_ABOVE = "您正在{what}，请回答上面的问题；发送「返回」回到上一步，发送「取消」放弃。"
THANKS_REPLY = "不客气！还有需要随时发消息给我。发送「帮助」查看能做什么。"
CHOICE_OUT_OF_RANGE = "没有第 {n} 项，请回复 1–{max} 之间的序号。"

# 帮助 is generated from the command registry (handlers.router.help_text): a heading for the role, one
# line per command that role may use, then a closing line. Each command's line is here, under its first name.
HELP_HEAD_ENTERPRISE = "企呼 · 企业诉求服务"
HELP_HEAD_STAFF = "企呼 · 工作人员 · {role}（{name}，{unit}）"
HELP_TAIL_ENTERPRISE = "填报中可随时发送「返回」回到上一步、「取消」放弃、「帮助」查看说明。"
HUMAN_HELP = "需要人工帮助请拨打服务电话 {phone}。也可以直接在这里描述问题，工作人员会跟进。"
HUMAN_HELP_HOTLINE = "需要人工帮助请拨打 12345-8 热线。也可以直接在这里描述问题，工作人员会跟进。"
HELP_PHONE = "\n需要人工帮助请拨打服务电话 {phone}。"
CALL_US = "\n如需帮助，请拨打服务电话 {phone}。"
HELP_TAIL_STAFF = "随时发送「取消」放弃当前操作、「帮助」查看本说明。"
COMMAND_HELP = {
    "我要反映": "我要反映：开始填报；也可以直接描述遇到的问题",
    "查询": "查询：查看未办结的诉求；查询 QH20261125-0007：查看进度和办理记录",
    "补充": "补充 编号 内容：为诉求补充情况，例如：补充 QH20261125-0007 已补充发票照片",
    "撤回": "撤回 编号 [原因]：撤回诉求",
    "评价": "评价 编号：对已办结的诉求评价，例如：评价 QH20261125-0007",
    "绑定": "绑定 绑定码：工作人员关联本人账号，例如：绑定 K7QM2XPA",
    "待办": "待办：本单位待办诉求",
    "签收": "签收 编号",
    "退回": "退回 编号 理由（交办后 {signoff} 个工作日内）",
    "进展": "进展 编号 内容",
    "延期": "延期 编号 天数 理由（期限前申请，最多 {ext} 个工作日，仅一次）",
    "办结": ("办结 编号 [已解决|部分解决|未解决] 说明 [现行机制无法解决：理由]（理由报服务中心作改革任务候选；"
           "协办单位用它向主办单位反馈）"),
    "提级": ("提级 编号 理由（承办单位：申请提级市级专班，由服务中心审核；调度员：直接提级）；"
           "调度员审核：提级 同意 编号 / 提级 驳回 编号 理由"),
    "上级评价": "上级评价 编号 1-5 意见：诉求闭环后，提级单位或企业所在乡镇评价上级办理（5 非常满意 … 1 非常不满意）",
    "详情": "详情 编号：查看诉求详情与办理全过程",
    "待分派": "待分派：问题池与建议主办单位、待审批延期、待审核提级",
    "分派": "分派 编号 [主办单位] [协办 单位…] [时限 N] [难度 一般|复杂|疑难]（不写单位即按建议）",
    "改类": "改类 编号 类别，例如：改类 QH20261125-0007 用地厂房",
    "转办": "转办 编号 新主办单位 [理由]",
    "批准延期": "批准延期 编号",
    "驳回延期": "驳回延期 编号 理由",
    "不予受理": "不予受理 编号 理由",
    "合并": "合并 编号 到 编号",
    "录入": "录入：登记热线、窗口、走访等渠道的诉求",
    "核实": "核实 编号 有效 说明，或 核实 编号 无效 [误评|恶意] 说明：核实差评",
    "差评": "差评：待核实和整改中的差评",
    "回访": "回访：待回访的诉求及本月电话/现场进度；回访 编号 电话|现场 满意度 [是否解决] [意见]：记为企业评价；"
            "回访 编号 [电话|现场] 结果：记录回访",
    "重复": "重复 编号 确认 [前次编号]，或 重复 编号 取消：认定重复投诉",
    "督办": "督办 编号 意见",
    "日报": "日报：诉求概况、超期与临期",
    "统计": "统计 [本月|上月|本季度|2026-11]：办理和评价统计，不写期间即本月",
    "指数": "指数 [本季度|2026Q4]：企业服务指数与红黑榜（附完整报告下载链接），不写期间即本季度",
    "报告": "报告 [本季度|本月|2026Q4]：完整报告（含图表和明细）的下载链接，例如：报告 2026Q4",
    "判例": ("判例：最近的典型服务判例；判例 关键词：查找判例，例如：判例 变压器；"
           "判例 编号 做法：把已闭环的诉求列为判例（调度员、领导）"),
    "典型": "典型 [2026Q4]：该季度的正反面典型候选（不写即上一季度）；典型 发布 [2026Q4] 编号…：领导审核发布",
    "核验": "核验：待核验的企业身份申请；核验 编号 通过|拒绝 理由（企业用户须是已核验的本企业人员）",
}
ROLE = {"handler": "承办人", "dispatcher": "调度员", "leader": "领导", "admin": "管理员"}

# ---- filing ----
FILING_WHAT = "填报诉求"
# A question typed where an answer was expected: answered when we can, else kept for the staff.
QUESTION_PARKED = "您的问题「{question}」已记下，诉求提交后会一并转给工作人员答复。"
QUESTION_PARKED_STAFF = "「{question}」像是一个问题，不是这一步要的内容。"
QUESTION_NOTE = "填报时提问：{question}"
FAQ = (
    (("上班", "办公时间", "工作时间", "几点", "周六", "周日", "周末", "节假日", "放假"),
     "企呼全天都可以提交诉求；工作人员在工作日办理，节假日提交的诉求从下一个工作日起算办理期限。"),
    (("多久", "几天", "多长时间", "期限", "什么时候办"),
     "诉求提交后会告诉您承诺办结的日期（一般 {days} 个工作日内），办理进展会及时通知您。"),
    (("进度", "进展", "办到哪"), "诉求提交后，随时发送「查询 编号」即可查看办理进度。"),
)
SHORT_PROBLEM = ("收到：「{text}」。为了尽快派给负责的单位，请再说详细一些："
                 "在什么地方、从什么时候开始、影响了什么、希望怎样解决。")
ASK_TEXT = "请描述您遇到的问题（{min}–{max} 字）：发生了什么、涉及哪个部门或地点、希望怎样解决。"
PROFILE_REUSED = (
    "已为您带入企业信息：{company}（{uscc_masked}），联系人 {contact} {phone_masked}。"
    "如需修改，可在提交前选择「修改」。"
)
PROFILE_REUSED_ASK_CONTACT = "已为您带入企业信息：{company}（{uscc_masked}）。请填写您的联系人信息。"
PROFILE_REUSED_NO_CONTACT = "已为您带入企业信息：{company}（{uscc_masked}）。联系人信息已按保存期限清除，请重新填写。"
ASK_COMPANY = "请输入企业全称（与营业执照一致）："
BACK_SHOWS_ANSWER = "已回到上一步。您刚才填写的是：「{value}」，可以重新填写。"
ASK_USCC = "请输入统一社会信用代码（18 位，见营业执照）："
ASK_CONTACT = "请输入联系人姓名："
ASK_PHONE = "请输入联系人手机号（座机请带区号，如 0571-88886666）："
ASK_AREA = "请选择企业所在的乡镇（街道）/企业社区："
ASK_CATEGORY = "根据您的描述，建议归入以下类别，请选择："
ASK_CATEGORY_NONE = "未能自动判断问题类别，请从下列类别中选择："
ASK_CATEGORY_UNSURE = "不确定您的问题属于哪一类，请从下面最可能的三个类别中选择一个（没有默认选项）："
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
    "【已登记】诉求已登记，编号 {number}。\n"
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
NO_OPEN_APPEALS = "您目前没有在办或待评价的诉求。直接描述问题即可开始填报。"
OPEN_LIST_HEAD = "您的在办及待评价诉求（{n} 件）："
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

# ---- enterprise identity (issue 14) ----
UNVERIFIED_MARK = "【未核验身份】"
MEMBER_VERIFY_USAGE = ("请按格式发送：核验（查看待核验列表），或 核验 编号 通过|拒绝 [理由]，"
                       "例如：核验 3 拒绝 非本企业员工。")
VERIFY_EMPTY = "目前没有待核验的企业身份申请。"
VERIFY_HEAD = "待核验的企业身份申请（{n} 件）："
VERIFY_LINE = "{id}　{company}（{uscc}）　申请人：{contact} {phone}　申请于 {claimed}"
VERIFY_TAIL = "发送「核验 编号 通过」或「核验 编号 拒绝 理由」。"
VERIFY_APPROVE = "同意"
VERIFY_REJECT = "拒绝"
VERIFIED_OK = "已核验通过：{contact}（{phone}）可代表{company}查看和办理本企业的诉求。"
REJECTED_CLAIM_OK = "已拒绝 {contact}（{phone}）代表{company}的身份申请。"
CLAIM_PROMPT = (
    "【身份核验】{contact}（手机 {phone}）以{company}的名义提交了诉求，申请成为本企业人员。\n"
    "同意后，对方可查看和办理本企业的全部诉求；拒绝后，对方只能看到自己提交的诉求。"
)
CLAIM_APPROVED = "您代表{company}的身份已核验通过，现在可以查看和办理本企业的诉求。"
CLAIM_REJECTED = "您代表{company}的身份未通过核验：{reason}。您仍可反映问题，但只能查看自己提交的诉求。"
CLAIM_REJECTED_NO_REASON = "未说明理由"
FILED_UNVERIFIED = "\n提示：您代表该企业的身份尚未核验，只能查看和办理自己提交的诉求。"

# ---- notifications ----
NEW_APPEAL_FOR_DISPATCHER = (
    "【新诉求】{number} {company}{unverified}（{area}）\n类别：{category}（{type}）\n{text_short}\n请及时分派。"
)
WITHDRAWN_FOR_STAFF = "【撤回】诉求 {number} 已被企业撤回。原因：{reason}"
COMMAND_NOT_FOR_ROLE = "「{command}」不是{role_label}可用的命令。发送「帮助」查看您可以使用的命令。"
ERRORS["command_not_for_role"] = COMMAND_NOT_FOR_ROLE
ROLE_LABEL = {"enterprise": "企业用户", **ROLE}


# ==== issue 3: channels (DingTalk / 浙政钉 / Telegram) and staff binding ====
BIND_USAGE = "请按格式发送：绑定 绑定码，例如：绑定 K7QM2XPA。绑定码由系统管理员发放，仅限工作人员使用。"
BOUND = "绑定成功：您已作为{role}（{name}，{unit}）使用企呼。发送「帮助」查看可用命令。"
BOUND_HELD = "\n您绑定前有 {count} 条通知未能送达，已在上方补发。"
ERRORS.update({
    "bind_code_missing": BIND_USAGE,
    "bind_code_invalid": "绑定码无效、已使用或已过期，请向系统管理员重新申请。",
    "bind_code_hours": "绑定码有效期应在 1 到 720 小时之间。",
    "bind_staff_inactive": "该绑定码对应的人员已停用，请联系系统管理员。",
    "staff_not_found": "没有编号为 {staff_id} 的在职人员。",
})
# Said on the DingTalk sessionWebhook when the database is away and the message waits in the spool.
UNSTORABLE_MESSAGE = "消息中含有无法保存的控制字符（NUL 或不成对的代理字符），没有处理。请去掉这些字符后重新发送。"
SPOOLED_NOTICE = "消息已收到。系统正在恢复数据服务，恢复后会按顺序处理您的消息并答复，请勿重复发送。"
UNSUPPORTED_MESSAGE = "暂不支持这种消息类型（{kind}）。请用文字描述您的问题，图片和文件可在填报时发送。"
CHOICES_HINT = "（点击选项，或回复序号）"
# The web page's input hint, by role: a dispatcher is not asked to describe a problem.
INPUT_PLACEHOLDER = {
    "enterprise": "描述您遇到的问题，或输入命令（帮助）",
    "handler": "输入命令，如：待办、签收 编号、办结 编号（帮助）",
    "dispatcher": "输入命令，如：待分派、分派 编号 单位、录入（帮助）",
    "leader": "输入命令，如：日报、统计、报告 本季度（帮助）",
    "admin": "输入命令（帮助）",
}
# ==== dispatch and handling (issue 4) ====
ERRORS.update({
    "unit_unknown": "没有找到单位「{text}」，请使用单位全称或常用简称（如 供电公司、人社局）。",
    "unit_ambiguous": "「{text}」可能指以下单位，请选择：",
    "dispatch_centre_only": "只有县企业综合服务中心的调度员可以进行这个操作。",
    "handler_only": "只有承办单位的承办人可以进行这个操作。",
    "leader_only": "督办只能由领导进行。",
    "lead_only": (
        "诉求 {number} 由主办单位负责这个操作，贵单位是协办单位："
        "请用「进展」或「办结 编号 反馈内容」向主办单位反馈。"
    ),
    "not_held_by_unit": "诉求 {number} 目前不在贵单位办理，无法操作。如需了解情况请联系服务中心。",
    "dispatch_days": "时限应为 1–{max} 个工作日。",
    "dispatch_no_suggestion": "诉求 {number} 没有匹配的分派规则，请指定主办单位：分派 {number} 主办单位。",
    "transfer_same_unit": "诉求 {number} 已由该单位主办，无需转办。",
    "already_accepted": "诉求 {number} 贵单位已签收，无需重复签收。",
    "accept_first": "诉求 {number} 尚未签收，请先发送「签收 {number}」。",
    "return_reason": "退回须说明理由，请发送：退回 编号 理由。",
    "return_too_late": (
        "诉求 {number} 已超过退回时限（交办后 {days} 个工作日内），"
        "不能退回；如确非贵单位职责，请联系服务中心转办。"
    ),
    "progress_empty": "请写明进展内容：进展 编号 内容。",
    "extension_days": "延期天数应为 1–{max} 个工作日。",
    "extension_reason": "延期须说明理由，请发送：延期 编号 天数 理由。",
    "extension_after_due": "诉求 {number} 已超过办理期限，不能再申请延期（延期须在期限前申请）。",
    "extension_pending": "诉求 {number} 已有一个延期申请在等待审批。",
    "extension_once": "诉求 {number} 已延期过一次，每件诉求最多延期一次。",
    "extension_none": "诉求 {number} 没有待审批的延期申请。",
    "extension_refuse_reason": "驳回延期须说明理由，请发送：驳回延期 编号 理由。",
    "resolve_outcome": "办理结果请写 已解决、部分解决 或 未解决。",
    "resolve_text": "办结须写明办理情况（至少 4 个字）：办结 编号 [已解决|部分解决|未解决] 说明。",
    "escalate_reason": "提级须说明理由，请发送：提级 编号 理由。",
    "no_city_unit": "未配置市级专班，无法提级，请联系服务中心。",
    "already_city": "诉求 {number} 已在市级专班办理，无法再提级。",
    "escalation_pending": "诉求 {number} 已有提级申请在等待服务中心审核，请继续办理。",
    "no_escalation_request": "诉求 {number} 没有待审核的提级申请。",
    "escalation_moved": "诉求 {number} 已不由申请提级的单位主办，无法同意；请发送：提级 驳回 {number} 理由。",
    "decline_reason": "驳回提级须说明理由，请发送：提级 驳回 编号 理由。",
    "reject_reason": "不予受理须说明理由，请发送：不予受理 编号 理由。",
    "merge_self": "不能把诉求 {number} 合并到它自己。",
    "merge_target_closed": "诉求 {number} 已办结或关闭，不能再并入其他诉求。",
    "urge_opinion": "请写明督办意见：督办 编号 意见。",
    "entry_source": "请选择诉求来源。",
    "import_missing": "缺少「{field}」",
    "import_duplicate_row": "工单编号 {ref} 与第 {first} 行重复",
    "import_bad_date": "来电时间「{value}」无法识别（应如 2026-11-20 09:30）",
    "import_future_date": "来电时间「{value}」晚于当前时间",
    "import_unknown_area": "所属乡镇「{value}」不在本县乡镇列表中",
    "import_bad_type": "诉求类型「{value}」无法识别（应为 咨询、求助、投诉、举报 或 建议）",
    "import_bad_category": "问题类别「{value}」不在类别表中",
})

SYSTEM_ACTOR = "系统"
GAP_MARK = "（节假日数据缺失）"
CO_LIST = "，协办：{names}"

# ---- dispatcher ----
POOL_EMPTY = "问题池中没有待分派的诉求。"
POOL_HEAD = "待分派诉求（{n} 件）："
POOL_LINE = (
    "{number}　{company}{unverified}（"
    "{area}）　{category}/{type}　来源：{source}　提交于 {submitted}\n　　{text_short}\n　　建议：{suggestion}"
)
POOL_NO_SUGGESTION = "无匹配规则，请指定主办单位"
POOL_TAIL = "发送「分派 编号」按建议分派，或「分派 编号 主办单位 [协办 单位…] [时限 N]」。"
EXT_HEAD = "待审批延期（{n} 件）："
EXT_LINE = "{number}　{unit} 申请延期 {days} 个工作日：{reason}（原期限 {due}）"
ESC_HEAD = "待审核提级申请（{n} 件，同意：提级 同意 编号；驳回：提级 驳回 编号 理由）："
ESC_LINE = "{number}　{unit} 申请提级市级专班：{reason}（现期限 {due}）"
DISPATCH_USAGE = (
    "请按格式发送：分派 编号 主办单位 [协办 单位…] [时限 N]，例如："
    "分派 QH20261125-0007 供电公司 协办 经信局 时限 5。"
)
DISPATCHED_OK = "已将诉求 {number} 交由{lead}主办{co}，办理期限 {due}（{days} 个工作日）{gap}。"
TRANSFER_USAGE = "请按格式发送：转办 编号 新主办单位 [理由]。"
TRANSFERRED_OK = "已将诉求 {number} 从{old}转至{lead}主办，新的办理期限 {due}{gap}。"
APPROVE_USAGE = "请按格式发送：批准延期 编号。"
REFUSE_USAGE = "请按格式发送：驳回延期 编号 理由。"
APPROVED_OK = "已批准诉求 {number} 延期 {days} 个工作日，新期限 {due}{gap}。已通知承办单位和企业。"
REFUSED_OK = "已驳回诉求 {number} 的延期申请，期限仍为 {due}。已通知承办单位和企业。"
REJECT_USAGE = "请按格式发送：不予受理 编号 理由。"
REJECTED_OK = "诉求 {number} 已不予受理，已告知企业。"
MERGE_USAGE = "请按格式发送：合并 编号 到 编号，例如：合并 QH20261125-0008 到 QH20261125-0007。"
MERGED_OK = "已将诉求 {number} 并入 {into}。"

# ---- handler ----
TODO_EMPTY = "本单位目前没有待办诉求。"
TODO_HEAD = "{unit} 待办诉求（{n} 件）："
TODO_LINE = "{number}　{role}　{status}　{category}　期限 {due}{gap}{overdue}"
TODO_ROLE = {"lead": "主办", "co": "协办"}  # a unit's part in an appeal: in 待办, 详情 and the digests
TODO_OVERDUE = "　⚠已超期"
TODO_NOT_ACCEPTED = "　（未签收）"
TODO_TAIL = "发送「签收 编号」「详情 编号」等办理。"
NUMBER_USAGE = "请在命令后写诉求编号，例如：{command} QH20261125-0007。"
ACCEPTED_LEAD = "已签收诉求 {number}，办理期限 {due}{gap}。\n企业：{company}　联系人：{contact} {phone}\n问题：{text}"
ACCEPTED_CO = "已签收诉求 {number} 的协办任务，请于 {due} 前向主办单位{lead}反馈（办结 {number} 反馈内容）。"
RETURN_USAGE = "请按格式发送：退回 编号 理由。"
# Buttons under the 签收 reply: (label, command); each sends the command and the number.
AFTER_ACCEPT_LEAD = (("填写进展", "进展"), ("办结", "办结"), ("退回", "退回"), ("申请延期", "延期"))
AFTER_ACCEPT_CO = (("向主办单位反馈", "办结"), ("填写进展", "进展"), ("退回", "退回"))
ASK_THE_REST = {
    "进展": "请写下诉求 {number} 的办理进展（主办单位的进展会告知企业）；不写了请回复「取消」：",
    "办结": "请写下诉求 {number} 的办理情况，开头可注明 已解决、部分解决 或 未解决（不注明按已解决）；"
            "暂不办结请回复「取消」：",
    "退回": "请写明退回诉求 {number} 的理由（如：不属于本单位职责）；不退回请回复「取消」：",
    "延期": "请写明延期的工作日天数和理由，例如：5 需等待设备到货（最多 {ext} 个工作日）；不延期请回复「取消」：",
}
HANDLING_TEXT_WHAT = "填写办理内容"
RETURNED_OK = "已退回诉求 {number}，服务中心将重新分派。"
PROGRESS_USAGE = "请按格式发送：进展 编号 内容。"
PROGRESS_OK = "已记录诉求 {number} 的办理进展{told}。"
PROGRESS_TOLD_ENTERPRISE = "，并告知企业"
PROGRESS_TOLD_LEAD = "，并告知主办单位"
VERIFY_PICK_LABEL = "{level}待核实"
PICK_APPEAL = "请选择要「{command}」的诉求（也可以直接发送「{command} 编号 …」）："
PICK_MORE = "\n（共 {n} 件，下面是最早到期的 8 件；其余请发送「{command} 编号」）"
NOTHING_TO_PICK = "目前没有需要「{command}」的诉求。"
EXT_PICK_LABEL = "申请延期 {days} 个工作日"
EXTEND_USAGE = ("请按格式发送：延期 编号 天数 理由，例如：延期 QH20261125-0007 5 需等待设备到货"
                "（天数可写 5、五天或一周）。")
EXTEND_REQUESTED = "已提交诉求 {number} 延期 {days} 个工作日的申请，等待服务中心审批。当前期限 {due}。"
RESOLVE_USAGE = "请按格式发送：办结 编号 [已解决|部分解决|未解决] 说明。"
RESOLVED_OK = "诉求 {number} 已办结（{outcome}），已告知企业并附上评价邀请。{unreported}"
RESOLVED_UNREPORTED = "\n注意：协办单位 {names} 未反馈，其协办任务已随办结关闭。"
CO_REPORTED_OK = "已将协办反馈报送主办单位{lead}。"
ESCALATE_USAGE = "请按格式发送：提级 编号 理由。"
ESCALATE_APPROVE_USAGE = "请按格式发送：提级 同意 编号。"
ESCALATE_DECLINE_USAGE = "请按格式发送：提级 驳回 编号 理由。"
ESCALATE_REQUESTED_OK = "诉求 {number} 的提级申请已提交县企业综合服务中心审核；审核前请继续办理，期限仍为 {due}。"
ESCALATED_BY_CENTRE_OK = "诉求 {number} 已提级至{city}，办理期限 {due}{gap}；已通知{unit}和企业。"
ESCALATE_DECLINED_OK = "已驳回诉求 {number} 的提级申请，已通知{unit}继续办理。"

# ---- leader ----
URGE_USAGE = "请按格式发送：督办 编号 意见。"
URGED_OK = "已对诉求 {number} 督办，已通知{unit}和服务中心。"

# ---- 详情 ----
DETAIL_STAFF = (
    "诉求 {number}（{source}）\n状态：{status}　级别：{level}　难度：{difficulty}\n"
    "企业：{company}（{uscc}）{unverified}　联系人：{contact} {phone}\n所在地：{area}　类别：{category}（{type}）\n"
    "主办：{lead}{co}　办理期限：{due}{gap}\n问题：{text}\n\n办理记录：\n{timeline}\n\n各单位办理用时：\n{spells}"
)
DETAIL_NO_SPELLS = "（尚未交办）"
DETAIL_REFORM_MARK = "\n\n办结时标记“现行机制无法解决”：{reason}（{label}，{state}）"
SPELL_LINE = "{unit}（{role}）{start} → {end}　{days} 个工作日（{hours} 小时）　{result}"
SPELL_OPEN = "至今"
SPELL_RESULT = {
    None: "办理中", "resolved": "已办结", "returned": "退回", "transferred": "转办", "escalated": "提级",
    "reported": "已反馈", "closed_by_lead": "主办办结时未反馈", "withdrawn": "企业撤回",
}
SPELL_ON_TIME = "，按时"
SPELL_LATE = "，超期"
EVENT_DETAIL = {
    "dispatch": "交办{lead}{co}，{days} 个工作日",
    "dispatch_auto": "按规则自动交办{lead}{co}，{days} 个工作日",
    "transfer_return": "转办（原主办 {unit}）",
    "return": "{unit}退回",
    "escalate": "{unit}提级至{lead}，{days} 个工作日",
    "ext_requested": "申请延期 {days} 个工作日",
    "ext_approved": "批准延期 {days} 个工作日",
    "ext_refused": "驳回延期申请",
    "co_accept": "{unit}（协办）签收",
    "co_report": "{unit}（协办）反馈",
    "resolve": "办结（{outcome}）",
    "merge": "并入 {into}",
    "merged": "合并 {merged}",
}

# ---- to the enterprise ----
ENT_DISPATCHED = "您的诉求 {number} 已交由{lead}办理{co}，办理期限 {due}{gap}。办理进展会及时通知您。"
ENT_ACCEPTED = "您的诉求 {number} 已由{unit}签收，正在办理。"
ENT_PROGRESS = "您的诉求 {number} 有新进展（{unit}）：{text}"
ENT_EXT_APPROVED = "您的诉求 {number} 因「{reason}」延期 {days} 个工作日，办理期限由 {old} 改为 {due}{gap}。"
# A date the enterprise was told changes: say both dates and why (dispatch, difficulty, time limit).
DATE_CHANGED = "\n办结日期有调整：此前告知您 {old}，现为 {new}。原因：{why}。"
DATE_WHY_SET = "服务中心核定办理时限 {days} 个工作日，自 {start} 交办起算"
DATE_WHY_RULE = "按{difficulty}{type}诉求、{level}单位办理，时限 {days} 个工作日，自 {start} 交办起算"
ENT_EXT_REFUSED = "承办单位就您的诉求 {number} 申请的延期未获批准，仍将在 {due} 前办结。"
ENT_RESOLVED = (
    "您的诉求 {number} 已办结（{outcome}）。\n办理单位：{unit}\n办理情况：{text}\n"
    "请为本次办理评价：点选下方等级，或发送「评价 {number}」；{until} 前有效，逾期记为未评价。\n"
    "如有疑问，可发送「查询 {number}」查看办理记录。"
)
ENT_ESCALATED = "您的诉求 {number} 已提级至{unit}办理，办理期限 {due}{gap}。"
ENT_TRANSFERRED = "您的诉求 {number} 已改由{lead}办理，办理期限 {due}{gap}。"
ENT_RETURNED = "您的诉求 {number} 正在重新安排办理单位，安排好后会通知您。"
ENT_REJECTED = "很抱歉，您的诉求 {number} 不予受理。原因：{reason}\n如有疑问，可重新反映或拨打 12345-8 热线。"
ENT_MERGED = "您的诉求 {number} 与已受理的同一问题合并办理，办理结果会一并告知您。"

# ---- to staff ----
# A handler no enabled channel reaches yet (bot.services.reach): the dispatcher is told, in the reply
# to the assignment, who and what to do; the notice itself waits for them.
STAFF_UNREACHED = (
    "⚠ {name}（{unit}）尚未绑定任何渠道，无法即时通知。交办通知已为其保留，绑定后立即送达；"
    "请联系系统管理员运行「qihu staff bind-code {id}」生成绑定码交给本人，"
    "本人向企呼发送「绑定 绑定码」即可（也可在人员配置中填写其钉钉 userid 或手机号）。"
)
UNIT_NO_HANDLER = "⚠ {unit}尚未登记承办人，交办通知无人接收。请在人员配置（[[staff]] 或人员 CSV）中为该单位登记承办人。"
AUTO_DISPATCH_UNREACHED = "【自动分派】{number} 已按规则交由{lead}主办，但有人未能收到通知："
STAFF_NOT_IN_DIRECTORY = (
    "⚠ {name}（{unit}）的手机号 {mobile} 在{channel}通讯录中未找到，企呼无法主动联系本人。"
    "交给该单位的通知已为其保留；请核对人员配置中的手机号或钉钉 userid，或请系统管理员运行"
    "「qihu staff bind-code {id}」生成绑定码交给本人。"
)
STAFF_NEW_TASK = (
    "【新交办】{number} {company}（{area}）\n类别：{category}（{type}）\n{text_short}\n"
    "主办：{lead}{co}　签收期限：{signoff}　办理期限：{due}{gap}\n请发送「签收 {number}」。"
)
STAFF_CO_TASK = (
    "【协办】{number} {company}：{text_short}\n主办单位："
    "{lead}。请于 {due} 前向主办单位反馈（发送「办结 {number} 反馈内容」）。"
)
STAFF_RETURNED = "【退回】{number} 被{unit}退回：{reason}\n请重新分派（分派 {number} 主办单位）。"
STAFF_EXT_REQUEST = (
    "【延期申请】{number} {unit}申请延期 {days} 个工作日：{reason}\n当前期限 {due}。"
    "发送「批准延期 {number}」或「驳回延期 {number} 理由」。"
)
STAFF_EXT_APPROVED = "【延期已批准】{number} 延期 {days} 个工作日，新期限 {due}{gap}。"
STAFF_EXT_REFUSED = "【延期未批准】{number}：{reason}\n期限仍为 {due}。"
STAFF_CO_REPORT = "【协办反馈】{number} {unit}：{text}"
STAFF_CO_PROGRESS = "【协办进展】{number} {unit}：{text}"
STAFF_RESOLVED = "【办结】{number} {unit}已办结（{outcome}）：{text}"
STAFF_ESCALATE_REQUEST = (
    "【提级申请】{number} {unit}申请提级至市级专班：{reason}\n"
    "同意请发送：提级 同意 {number}\n不同意请发送：提级 驳回 {number} 理由")
STAFF_ESCALATED_AWAY = "【提级】{number} 已由服务中心提级至{city}，贵单位不再主办。理由：{reason}"
STAFF_ESCALATE_DECLINED = "【提级驳回】{number} 的提级申请未获同意：{reason}\n请继续办理，办理期限仍为 {due}。"
STAFF_GRASSROOTS_INVITE = (
    "【基层评价】诉求 {number}（{company}）已闭环，请评价{rated}的办理服务：\n"
    "上级评价 {number} 1-5 意见（5 非常满意 … 1 非常不满意）")
STAFF_TRANSFERRED_AWAY = "【转办】{number} 已由服务中心转至{lead}主办，贵单位无需继续办理。"
STAFF_URGED = "【督办】{number} {leader}：{opinion}"
STAFF_CLOSED_CO = "【已办结】{number} 主办单位已办结，贵单位的协办任务随之关闭。"

# ---- 录入 guided entry ----
ENTRY_WHAT = "录入诉求"
ENTRY_ASK_SOURCE = "录入诉求：请选择来源渠道（随时发送「取消」放弃）。"
ENTRY_ASK = {
    "company": "请输入企业全称：",
    "uscc": "请输入统一社会信用代码（18 位）：",
    "contact": "请输入联系人姓名：",
    "phone": "请输入联系人手机号（座机请带区号，如 0571-88886666）：",
    "area": "请选择企业所在乡镇（街道）：",
    "text": "请输入诉求内容（{min}–{max} 字）：",
    "category": "请选择问题类别：",
    "type": "请选择诉求类型：",
}
ENTRY_SUMMARY = (
    "请确认录入：\n来源：{source}\n企业：{company}（{uscc}）\n联系人：{contact} {phone}\n所在地：{area}\n"
    "类型：{type}　类别：{category}\n内容：{text}"
)
ENTRY_DONE = "✅ 已录入诉求 {number}（来源：{source}），已进入问题池待分派。{auto}"
ENTRY_AUTO = "\n已按规则自动交由{lead}办理。"
ENTRY_SOURCE_UNKNOWN = "请从列表中选择来源渠道。"

# ==== 评价改进 (issue 6): 好差评, 差评核实与整改, 回访, 重复投诉, 基层/第三方评价, 统计与指数 ====
ACTION.update({
    Action.CALLBACK: "回访",
    Action.LINK_REPEAT: "重复投诉关联",
    Action.GRASSROOTS_RATE: "基层评价上级服务",
    Action.ESCALATE_REQUEST: "申请提级",
    Action.ESCALATE_DECLINE: "驳回提级申请",
})
ERRORS.update({
    "rate_enterprise_only": "评价只能由提交诉求的企业本人进行，工作人员不能代评。",
    "already_rated": "诉求 {number} 本轮已评价过，感谢您的反馈。",
    "rating_level": "请选择 5 个评价等级之一：非常满意、满意、基本满意、不满意、非常不满意。",
    "rating_tag": "「{tag}」不是该等级的评价标签，请从列表中选择。",
    "rating_solved": "请回复 已解决、部分解决 或 未解决。",
    "comment_long": "评价意见请控制在 {max} 字以内。",
    "not_verifying": "诉求 {number} 没有待核实的差评。",
    "verify_note": "核实须写明说明，例如：核实 编号 有效 已电话联系企业，确属办理拖延。",
    "verify_kind": "无效差评请注明类型：误评 或 恶意。",
    "no_unit_to_rectify": "诉求 {number} 没有可以整改的责任单位，请先确认主办单位。",
    "evaluation_staff_only": "只有服务中心调度员和领导可以查看差评。",
    "callback_result": "请写明回访结果，例如：回访 编号 电话 企业表示满意，问题已解决。",
    "callback_done": "诉求 {number} 已回访过。",
    "repeat_none": "诉求 {number} 没有关联的前次诉求；如需关联，请发送：重复 编号 确认 前次编号。",
    "repeat_self": "诉求 {number} 不能与自身关联。",
    "not_escalated_by_unit": "诉求 {number} 不是贵单位提级的，也不在贵乡镇，不能评价上级服务。",
    "grassroots_not_closed": "诉求 {number} 尚未闭环，闭环后才能评价上级服务。",
    "grassroots_done": "贵单位已评价过诉求 {number} 的上级服务。",
    "leader_stats_only": "统计、指数和报告供领导和服务中心调度员查看。",
    "period_format": "没有识别期间「{text}」，请写 本周、本月、本季度、2026-11、2026Q4 或 2026W48。",
    "tp_unit": "没有单位「{unit}」",
    "tp_period": "期间「{period}」格式不对（应为 2026Q4、2026-11 或 2026W48）",
    "tp_score": "得分「{score}」应为 0–100 的数字",
})
RATING_LEVEL_LABELS = {5: "非常满意", 4: "满意", 3: "基本满意", 2: "不满意", 1: "非常不满意"}
RATE_USAGE = "请按格式发送：评价 编号，例如：评价 QH20261125-0007。"
RATE_NONE = "您目前没有待评价的诉求。"
RATE_WHAT = "评价"
RATE_ASK_LEVEL = "请对诉求 {number}（{unit}办理）的办理结果作出评价{round}（评价自愿，如实反映即可）："
RATE_ROUND2 = "（整改后第 {round} 轮评价）"
RATE_ASK_TAGS = (
    "您选择了「{level}」。请选择评价标签（可多选）：逐个点选后点「完成」，或一次回复几个序号如 1 3；"
    "不选请回复「跳过」："
)
RATE_TAGS_UNKNOWN = "没有识别「{text}」，请回复列表中的序号（可多个，用空格分开）或标签名；不选请回复「跳过」。"
RATE_TAGS_SO_FAR = "已选标签：{tags}。可继续点选（再点一次取消），选好后点「完成」："
RATE_TAG_CHOSEN = "✓ {tag}"
RATE_TAGS_DONE = "完成"
RATE_ASK_COMMENT = "如有意见或建议，请直接写下（{max} 字以内）；没有请回复「跳过」："
RATE_ASK_SOLVED = "最后，您反映的问题解决了吗？"
RATE_SKIP = "跳过"
# Said at 意见或建议 these mean "nothing to add", not an opinion: a second tap of 完成, a plain 没有, thanks.
RATE_NO_COMMENT = frozenset({"跳过", "完成", "没有", "没有了", "没", "无", "没意见", "无意见", "没有意见", "不用了",
                             "算了", "好", "好的", "可以", "谢谢", "谢谢了", "没什么", "没啥", "ok", "OK"})
RATE_NOTE = "{level}（第 {round} 轮）｜标签：{tags}｜{solved}{comment}"
RATE_NOTE_COMMENT = "｜意见：{comment}"
RATE_NO_TAGS = "无"
RATED_GOOD = "感谢您的评价！诉求 {number} 已闭环。如有新问题，随时发送「我要反映」。"
RATED_BAD = (
    "已收到您的评价（{level}），非常抱歉没有让您满意。\n"
    "县企业综合服务中心将在 {due} 前核实，并把处理结果告诉您；核实有效的，将督促责任单位限期整改。"
)
STAFF_BAD_REVIEW = (
    "【差评待核实】{number} {company}\n评价：{level}｜标签：{tags}｜{solved}{comment}\n"
    "被评单位：{unit}　核实期限：{due}\n请联系企业核实后发送：核实 {number} 有效|无效 说明。"
)
BAD_REVIEW_VERIFY_USAGE = "请按格式发送：核实 编号 有效 说明，或 核实 编号 无效 [误评|恶意] 说明。"
# Timeline notes follow the action's own label ("差评核实有效："), so they do not repeat it.
VERIFY_NOTE_VALID = "{note}；交{unit}整改，期限 {due}"
VERIFY_NOTE_INVALID = "（{kind}）{note}；不计入考核"
VERIFIED_VALID_OK = (
    "已核实诉求 {number} 的差评有效，已交{unit}整改，整改期限 {due}（{days} 个工作日）。已告知单位和企业。"
)
VERIFIED_INVALID_OK = "已核实诉求 {number} 的差评无效（{kind}），诉求已闭环，该评价不计入考核。已告知企业。"
ENT_VERIFIED_VALID = (
    "您对诉求 {number} 的差评经核实属实。已责成{unit}限期整改，整改期限 {due}。"
    "整改完成后会通知您，届时请再次评价。"
)
ENT_VERIFIED_INVALID = (
    "您对诉求 {number} 的评价经核实：{note}。该评价不计入考核，诉求已闭环。"
    "如有异议，可拨打 12345-8 热线。"
)
STAFF_RECTIFY_TASK = (
    "【差评整改】{number} {company}\n企业评价：{level}｜标签：{tags}\n核实意见：{note}\n"
    "整改期限：{due}。整改完成后请发送：办结 {number} [已解决|部分解决|未解决] 整改情况。"
)
BAD_LIST_EMPTY = "目前没有待核实或整改中的差评。"
BAD_LIST_HEAD = "差评 {n} 件："
BAD_LIST_VERIFY = "{number}　{level}　待核实　核实期限 {due}{late}"
BAD_LIST_RECTIFY = "{number}　{level}　整改中（{unit}）　整改期限 {due}{late}"
LATE_MARK = "　⚠已超期"
CALLBACK_EMPTY = "目前没有待回访的诉求。"
CALLBACK_HEAD = "待回访 {n} 件（随机抽取，可复核）："
CALLBACK_LINE = "{number}　{reason}　{company}　{contact} {phone}"
CALLBACK_REASON = {"sample": "抽样回访", "bad_review": "差评回访", "withdrawn": "撤回回访", "manual": "主动回访"}
CALLBACK_TAIL = ("回访后请发送：回访 编号 电话|现场 满意度 [是否解决] [意见]（记为企业评价），"
                 "或 回访 编号 电话|现场 结果。")
CALLBACK_PROGRESS = "本月回访 {total} 件：电话已完成 {phone}/{phone_target}，现场已完成 {onsite}/{onsite_target}。"
CALLBACK_RATED = "已按{source}记录企业对诉求 {number} 的评价：{level}，{solved}，意见：{comment}。"
CALLBACK_RATED_BAD = "该评价为差评，已进入差评核实。"
CALLBACK_NO_COMMENT = "无"
CALLBACK_OK = "已记录诉求 {number} 的{method}回访：{result}（{verdict}）。"
CALLBACK_VERDICT = {True: "满意", False: "不满意"}
REPEAT_USAGE = "请按格式发送：重复 编号 确认 [前次编号]，或 重复 编号 取消。"
REPEAT_CONFIRMED = "已确认诉求 {number} 为 {earlier} 的重复投诉，计入重复投诉率。"
REPEAT_UNLINKED = "已取消诉求 {number} 与 {earlier} 的重复关联，不计入重复投诉率。"
GRASSROOTS_USAGE = "请按格式发送：上级评价 编号 1-5 意见（5 非常满意 … 1 非常不满意）。"
GRASSROOTS_OK = "已记录贵单位对{unit}办理诉求 {number} 的评价：{level}。"
STATS_RATING_SOURCES = "评价来源：{sources}（件）"
STATS_HEAD = "【{label} 统计】（{start}–{end}，截至 {now}）"
STATS_BODY = (
    "受理 {received} 件，办结 {resolved} 件\n"
    "按时办结率 {on_time}（{on_time_n}）\n"
    "解决率 {solved}（{solved_n}；部分解决 {partly}）\n"
    "满意率 {satisfaction}（严格口径 {strict}；{rated_n}）\n"
    "未评价率 {unrated}（{unrated_n}；评价期内待评价 {pending} 件）\n"
    "重复投诉率 {repeat}（{repeat_n}）\n"
    "差评 {bad} 件，差评整改率 {rectification}（{rect_n}）；无效差评已剔除 {excluded} 件\n"
    "回访满意率 {callback}（{callback_n}）"
)
STATS_SOURCES = "受理来源：{sources}"
STATS_UNITS_HEAD = "单位（按企业服务指数）："
STATS_UNIT_LINE = "{rank}. {unit}　指数 {index}　满意率 {satisfaction}　按时 {on_time}"
INDEX_HEAD = "【企业服务指数 {label}】全县 {index}"
INDEX_COMPONENT = "· {name}：{value}（权重 {weight}）"
INDEX_NAMES = {
    "satisfaction": "满意率", "solved": "解决率", "on_time": "按时办结率", "repeat": "100−重复投诉率",
    "rectification": "差评整改率", "callback": "回访满意率", "grassroots": "基层评价", "third_party": "第三方评价",
}
INDEX_RED = "红榜：{names}"
INDEX_BLACK = "黑榜：{names}"
INDEX_TAIL = "完整报告（含图表和明细）见下方下载链接；以后也可随时发送「报告 {label}」获取。"
REPORT_READY = (
    "【企业服务指数报告 {label}】受理 {received} 件，办结 {resolved} 件，指数 {index}。\n"
    "完整报告（指标、图表、红黑榜和明细）：{name}，请点击下方链接下载；链接 {until} 前有效，仅供本人使用，"
    "过期后再发送「报告 {label}」即可。"
)
REPORT_UNAVAILABLE = "报告下载暂不可用，请联系系统管理员。"
# Why a download link is refused (shown by the browser that opened it).
REPORT_LINK_ERRORS = {
    "format": "没有这种报告格式（可下载 .html 或 .xlsx）。",
    "incomplete": "下载链接不完整，请回到聊天中重新发送「报告 {period}」获取。",
    "forged": "下载链接签名不正确（链接被改动过，或不是企呼生成的），请回到聊天中重新发送「报告 {period}」获取。",
    "expired": "下载链接已于 {at} 过期，请回到聊天中重新发送「报告 {period}」获取新链接。",
    "not_allowed": "该链接的申请人已无权查看报告（报告供领导和服务中心调度员查看）。",
    "off": "报告下载未开启。",
}
NO_DATA = "—"
OVERDUE_VERIFY = (
    "【差评核实超期】{number} 的差评应于 {due} 前核实，至今未核实。"
    "请尽快联系企业核实：核实 {number} 有效|无效 说明。"
)
OVERDUE_RECTIFY = "【差评整改超期】{number} 应由{unit}于 {due} 前整改完成，至今未办结，请督促。"
# ==== Scheduled work (issue 5): reminders, rating prompt, digests, 日报 ====
# Placeholders: dates arrive already formatted ({due}, {signoff}, {since}, {until}); {days} is a count.
SCHEDULED = {
    "grassroots_invite": STAFF_GRASSROOTS_INVITE,  # also sent in chat when a rating closes the appeal
    "dispatch_overdue": (
        "【待分派超时】{number} {company}（{category}）于 {since} 进入问题池，应于 {due} 前分派，至今未分派。\n"
        "请发送「分派 {number} 主办单位」。"
    ),
    "signoff_overdue": (
        "【未签收】{number} 已交办{unit}（{role}），签收期限 {signoff} 已过，至今未签收。办理期限 {due}。\n"
        "承办人请发送「签收 {number}」（不属本单位职责的，发送「退回 {number} 理由」）。"
    ),
    "near_due": (
        "【即将到期】{number} {company} 办理期限 {due}{gap}，{unit}请抓紧办理。\n"
        "{next}"
    ),
    "overdue": (
        "【已超期】{number} {company} 办理期限 {due}，已超期 {days} 个工作日（{unit}）。\n"
        "{next}"
    ),
    "overdue_leader": (
        "【超期告警】{number} {company}（{category}）由{unit}主办，期限 {due}，已超期 {days} 个工作日。\n"
        "可发送「督办 {number} 意见」督办，「详情 {number}」查看办理记录。"
    ),
    "rating_reminder": (
        "您的诉求 {number} 已办结，尚未评价。请发送「评价 {number}」或选择下方评价，{until} 前有效。"
    ),
    "rating_expired": "您的诉求 {number} 评价期已结束，未收到评价，已闭环（记为未评价）。感谢您的反映。",
}
SCHEDULED_NEXT_ACCEPT = "尚未签收，请先发送「签收 {number}」。"
SCHEDULED_NEXT_HANDLE = (
    "办结请发送「办结 {number} [已解决|部分解决|未解决] 说明」，需延期请发送「延期 {number} 天数 理由」。"
)
SCHEDULED_NEXT_OVERDUE = "办结请发送「办结 {number} [已解决|部分解决|未解决] 说明」，进展请发送「进展 {number} 内容」。"
RATING_LEVELS = ((5, "非常满意"), (4, "满意"), (3, "基本满意"), (2, "不满意"), (1, "非常不满意"))
WEEKDAYS = "一二三四五六日"

DIGEST_LEADER_HEAD = "【每日简报】{day}（周{weekday}）"
DIGEST_OVERDUE = "⚠ 超期 {n} 件（超 {threshold} 个工作日 {alerts} 件）"
DIGEST_OVERDUE_LINE = "· {number} {unit} 超 {days} 个工作日"
DIGEST_NEAR = "⏰ {horizon} 个工作日内到期 {n} 件"
DIGEST_NEAR_LINE = "· {number} {unit} {due} 到期"
DIGEST_BAD = "👎 差评核实/整改中 {n} 件"
DIGEST_ESCALATED = "⬆ 提级市级专班 {n} 件"
DIGEST_NO_EXCEPTIONS = "✅ 无超期、无即将到期、无差评。"
DIGEST_VOLUME = "{since} 以来：新增 {new}　办结 {resolved}　闭环 {closed}（未评价 {not_rated}）"
DIGEST_UNITS_HEAD = "各单位（在办/超期/办结）："
DIGEST_UNIT_LINE = "{unit} {open}/{overdue}/{resolved}"
DIGEST_MORE = "……另 {n} 件"
DIGEST_TAIL = "发送「详情 编号」查看，「督办 编号 意见」督办。"
DIGEST_TODO_HEAD = "【今日待办】{unit}（{n} 件）："
DIGEST_TODO_LINE = "· {number} {role} {status} 期限 {due}{flag}"
DIGEST_TODO_OVERDUE = " ⚠超期"
DIGEST_TODO_UNSIGNED = " （未签收）"
DIGEST_TODO_TAIL = "发送「待办」查看全部，「签收 编号」「详情 编号」办理。"
DIGEST_POOL_HEAD = "【问题池】待分派 {n} 件，其中超过分派时限 {late} 件。"
DIGEST_POOL_LINE = "· {number} {company}（{category}）{since} 提交"
DIGEST_POOL_EXT = "待审批延期 {n} 件：{numbers}"
DIGEST_POOL_TAIL = "发送「待分派」查看并分派。"
# Leaders' and dispatchers' digests while holiday data is missing (from 1 November for next year).
# Read by leaders and dispatchers: who should act, never a shell command (the log line names it).
DIGEST_CALENDAR_MISSING = ("📅 缺少 {years} 年法定节假日数据，该年期限暂按周一至周五计算；"
                           "请信息管理员按国务院办公厅放假通知录入 {first} 年节假日。")
ERRORS["digest_roles"] = "「日报」仅供领导和服务中心调度员使用。"


# ---- similar appeals (issue 7) ----
SIMILAR_APPEAL_QUESTION = "这条消息与诉求 {number}（{category}）内容相近，是否为对 {number} 的补充？"


# ==== 类别更正与同类问题（调度员） ====
POOL_UNSURE = "　　类别待确认：规则把握不足（{probability:.0%}），请核对类别，可能是 {others}"
POOL_EVIDENCE = "　　类别依据：{words}（如有误发送「改类 编号 类别」）"
POOL_DIFFICULTY = "　　难度建议：{difficulty}（依据：{words}；如不同意，分派时加「难度 一般」）"
POOL_NO_EVIDENCE = "　　类别由企业选择（无关键词依据）"
POOL_GROUPS_HEAD = "同类问题（多家企业反映，可考虑合并或统一交办）："
POOL_GROUP_LINE = "· {n} 件：{numbers}"
RETAG_USAGE = "请按格式发送：改类 编号 类别，例如：改类 QH20261125-0007 用地厂房。"
RETAGGED = "诉求 {number} 的类别已由「{old}」更正为「{new}」（已记入学习数据）。新的建议主办单位：{suggestion}。"
ERRORS.update({
    "category_unknown": "没有「{category}」这个类别。可选：{choices}。",
    "category_same": "诉求 {number} 的类别已经是「{category}」。",
})
# ---- Limits on hostile or runaway senders (issue 8) ----
RATE_LIMITED = "您发送消息太频繁了，请等 {seconds} 秒后再发。"

# ---- Other systems: Open311, /api/v1, webhooks (issue 16); reasons in 4xx answers and the CLI ----
# Reasons for the refusals aiohttp itself raises (unknown path, wrong method, body too big …).
HTTP_MESSAGES = {
    400: "请求格式错误。", 404: "没有这个地址。", 405: "不支持这种请求方法。",
    413: "请求体过大。", 415: "不支持的内容类型。",
}
ERRORS.update({
    "api_key_invalid": "缺少接口密钥，或密钥无效、已吊销。请在 Authorization: Bearer 或 api_key 中提供有效密钥。",
    "api_scope_missing": "此密钥没有「{scope}」权限。",
    "api_client_id": "客户端名称「{value}」无效：应为 1–24 位小写字母、数字、_ 或 -，以字母或数字开头。",
    "api_client_exists": "客户端「{value}」已存在。",
    "api_client_unknown": "没有名为「{value}」的客户端。",
    "api_scope": "权限「{value}」无效，可选：{known}。",
    "api_entry_source": "来源「{value}」不在配置的受理来源中（[api] entry_sources）：{known}。",
    "api_rate": "每分钟调用次数至少为 1。",
    "api_external_id": "外部编号应为 1–60 位可打印 ASCII 字符。",
    "api_type": "诉求类型「{value}」无效，可选：{known}。",
    "api_area": "无法从「{value}」确定所在乡镇（街道），请写明乡镇名称。",
    "api_category": "没有「{value}」这个问题类别（service_code），可用的见 services.json。",
    "api_datetime": "{field} 的时间「{value}」格式无效，应为带时区的 ISO 8601，如 2026-11-25T10:00:00+08:00。",
    "api_field_missing": "缺少必填字段 {field}。",
    "api_field_invalid": "字段 {field} 无效：{reason}",
    "api_body": "请求体应为 JSON 对象。",
    "api_cursor": "分页游标 cursor 无效。",
    "api_limit": "limit 应为 1 到 {max} 之间的整数。",
    "api_status": "status 只能是 {known}。",
    "api_rating_level": "评价等级 level 应为 1–5 的整数（5 非常满意 … 1 非常不满意）。",
    "api_id_list": "service_request_id 应为以逗号分隔的诉求编号，最多 {max} 个。",
    "webhook_url": "webhook 地址应为 http(s):// 开头的网址，最长 2000 字符。",
    "webhook_secret": "webhook 密钥应为 16–128 个字符。",
    "webhook_not_found": "没有编号为 {id} 的 webhook 订阅。",
    "api_rate_limited": "调用过于频繁，请 {seconds} 秒后重试。",
    "api_disabled": "接口未开启（[api] enabled = false）。",
})
API_NOTICE_CREATED = "已受理，诉求编号 {number}，承诺办结日期 {promised}。"
API_NOTICE_EXISTING = "该外部编号已提交过，对应诉求 {number}。"
API_CLIENT_ADDED = ("已创建客户端「{id}」（权限：{scopes}；来源：{source}；每分钟 {rate} 次）。\n"
                    "密钥只显示这一次，请妥善保存：\n{key}")
API_CLIENT_LINE = "{id}\t{scopes}\t{source}\t每分钟 {rate} 次\t创建于 {created}\t{state}"
API_CLIENT_ACTIVE = "有效"
API_CLIENT_REVOKED = "已吊销（{at}）"
API_CLIENT_NONE = "还没有接口客户端。用 qihu api-client add 名称 --scopes submit,read 创建。"
API_CLIENT_REVOKED_DONE = "客户端「{id}」的密钥已吊销，之后的调用一律返回 401。"

# ---- tracked improvement items: 为企办实事, 改革任务, 薄弱环节跟进 (规范 8.1/8.2, issue 17 §4–§6) ----
IMPROVEMENT_WORD = {"shishi": "实事", "reform": "改革", "followup": "跟进"}  # the command word and the item label
IMPROVEMENT_LIST_NAME = {"shishi": "为企办实事清单", "reform": "改革任务清单", "followup": "薄弱环节跟进事项"}
IMPROVEMENT_STATE = {"candidate": "候选", "reviewing": "专家评审中", "approved": "已确认，待交办", "rejected": "已否决",
                     "assigned": "办理中", "done": "已完成"}
IMPROVEMENT_STEP = {"nominate": "提名评审", "vote": "投票", "confirm": "确认", "reject": "否决", "assign": "交办",
                    "progress": "填写进展", "finish": "完成"}
IMPROVEMENT_SOURCE = {"nomination": "提名", "report": "报告：企业反映集中",
                      "resolve_mark": "办结时标记“现行机制无法解决”", "threshold": "报告：指标未达标",
                      "weak_spot": "企业服务指数：薄弱环节"}
IMPROVEMENT_REASON = {"satisfaction": "满意率 {v}%", "repeat": "重复投诉率 {v}%", "on_time": "按时办结率 {v}%",
                      "ranking": "指数 {v}，红黑榜排名靠后"}
IMPROVEMENT_FACTS_CANDIDATE = "{period} 受理 {count} 件，占 {share}%{repeats}"
IMPROVEMENT_FACTS_REPEATS = "，其中重复投诉 {n} 件"
IMPROVEMENT_ENTRY = {"nominate": "提名评审", "mark": "办结时标记“现行机制无法解决”",
                     "vote": "专家评审：{vote}", "progress": "进展", "confirm": "领导确认", "reject": "领导否决",
                     "assign": "交办", "done": "完成"}
IMPROVEMENT_LABEL = "{word} {seq}"
IMPROVEMENT_HEAD = "{name}（{n} 项）："
IMPROVEMENT_EMPTY = "{name}目前没有事项。"
IMPROVEMENT_COLLECTED = "（已从{period}报告收集新候选 {n} 项）"
IMPROVEMENT_LINE = "{label}　{state}　{title}{extra}"
IMPROVEMENT_LINE_VOTES = "（专家评审 同意 {yes}、不同意 {no}，已投 {have}/{need}）"
IMPROVEMENT_LINE_OWNER = "（{unit}，期限 {due}{overdue}）"
IMPROVEMENT_LINE_DONE = "（{unit}，{closed} 完成）"
IMPROVEMENT_LINE_FACTS = "（{facts}）"
IMPROVEMENT_OVERDUE = "，⚠已超期"
IMPROVEMENT_TAIL = {
    "shishi": ("发送「实事 编号」查看详情与评审记录。调度员、领导：实事 提名 描述 | 实事 提名 诉求编号… 描述 | "
               "实事 提名 候选编号；评审专家：实事 同意|不同意|意见 编号 [意见]；领导：实事 确认|否决 编号；"
               "交办：实事 交办 编号 单位 期限；责任单位：实事 进展|完成 编号 内容。"),
    "reform": ("发送「改革 编号」查看详情。领导交办：改革 交办 编号 职能部门 期限 [要求]（期限如 2027-03-31 或 "
               "60个工作日）；责任单位：改革 进展|完成 编号 内容（完成时写明固化成的服务事项或工作机制）。"),
    "followup": ("发送「跟进 编号」查看详情。调度员、领导：跟进 交办 编号 [单位] [期限] [要求]（不写即由该单位在 "
                 "{days} 个工作日内改进）；责任单位：跟进 进展|完成 编号 内容。"),
}
IMPROVEMENT_DETAIL = ("{label}　{title}\n状态：{state}　来源：{source}{period}{appeals}\n"
                      "{proposed}{reviews}{owner}{note}{closing}\n记录：\n{entries}")
IMPROVEMENT_DETAIL_PERIOD = "（{period}）"
IMPROVEMENT_DETAIL_APPEALS = "\n关联诉求：{numbers}"
IMPROVEMENT_DETAIL_FACTS = "\n依据：{facts}"
IMPROVEMENT_DETAIL_PROPOSED = "提名：{name}（{at}）\n"
IMPROVEMENT_DETAIL_REVIEWS = "专家评审（{have}/{need}）：{votes}\n"
IMPROVEMENT_DETAIL_VOTE = "{name} {vote}{opinion}"
IMPROVEMENT_DETAIL_NO_VOTE = "{name} 未投票"
IMPROVEMENT_DETAIL_OWNER = "责任单位：{unit}　期限：{due}{overdue}\n"
IMPROVEMENT_DETAIL_NOTE = "要求/决定：{note}\n"
IMPROVEMENT_DETAIL_CLOSING = "完成情况：{note}（{at}）\n"
IMPROVEMENT_ENTRY_LINE = "{at}　{who}　{what}{text}"
IMPROVEMENT_NO_ENTRIES = "（暂无）"
IMPROVEMENT_ENTRY_TEXT = "：{text}"
IMPROVEMENT_USAGE = {
    "shishi": ("请按格式发送：实事（清单）、实事 编号（详情）、实事 提名 [诉求编号…] 描述、"
               "实事 同意|不同意|意见 编号 [意见]、实事 确认|否决 编号 [理由]、实事 交办 编号 单位 期限、"
               "实事 进展|完成 编号 内容。"),
    "reform": ("请按格式发送：改革（清单）、改革 编号（详情）、改革 交办 编号 职能部门 期限 [要求]、"
               "改革 进展|完成 编号 内容。"),
    "followup": ("请按格式发送：跟进（清单）、跟进 编号（详情）、跟进 交办 编号 [单位] [期限] [要求]、"
                 "跟进 进展|完成 编号 内容。"),
}
IMPROVEMENT_ASK_TEXT = {
    "意见": "请写下您对{label} 的评审意见（记入专家评审）；不写了请回复「取消」：",
    "否决": "请写下否决{label} 的理由（会告知提名人和评审专家）；不写了请回复「取消」：",
    "进展": "请写下{label} 的进展；不写了请回复「取消」：",
    "完成": "请写下{label} 的完成情况（做了什么、固化成什么服务事项或工作机制）；不写了请回复「取消」：",
}
IMPROVEMENT_TEXT_WHAT = "填写改进事项内容"
IMPROVEMENT_CANDIDATE_CHOICE = {"shishi": ("提名{label}", "实事 提名 {seq}"),  # one-tap buttons under a list
                                "followup": ("交办{label}", "跟进 交办 {seq}")}
NOMINATED_OK = "已提名{label}：{title}，已送评审专家（{reviewers}）投票；达到 {need} 票后由领导确认。"
REVIEW_REQUEST = ("【为企办实事评审】{label}：{title}\n提名：{who}{appeals}\n"
                  "请投票（同意 / 不同意 / 意见，均可附意见：实事 同意 {seq} 意见）。")
REVIEW_CHOICES = (("同意", "同意"), ("不同意", "不同意"), ("提意见", "意见"))
VOTED_OK = "已记录您对{label} 的专家评审：{vote}{opinion}。目前 {have}/{need} 票。"
VOTED_OPINION = "（意见：{text}）"
REVIEW_DONE = ("【为企办实事待确认】{label}：{title}\n专家评审：同意 {yes}、不同意 {no}、意见 {other}。\n"
               "请确认或否决。")
DECIDE_CHOICES = (("确认", "确认"), ("否决", "否决"))
CONFIRMED_OK = "已确认{label} 列入为企办实事清单。下一步：实事 交办 {seq} 责任单位 期限。"
SHISHI_REJECTED_OK = "已否决{label}，理由已告知提名人和评审专家。"
STAFF_CONFIRMED = "【为企办实事】{label}：{title} 已由{leader}确认，待交办责任单位。"
STAFF_REJECTED = "【为企办实事】{label}：{title} 已由{leader}否决：{reason}"
ASSIGNED_OK = "已将{label} 交由{unit}办理，期限 {due}。已通知该单位。"
STAFF_ASSIGNED = ("【{name}】{label}：{title}{note}\n交由贵单位办理，期限 {due}。\n"
                  "请发送「{word} 进展 {seq} 内容」报告进展，办完发送「{word} 完成 {seq} 完成情况」。")
STAFF_ASSIGNED_NOTE = "\n要求：{note}"
IMPROVEMENT_PROGRESS_OK = "已记录{label} 的进展。"
STAFF_IMPROVEMENT_PROGRESS = "【{name}进展】{label}（{unit}）：{text}"
FINISHED_OK = "{label} 已完成，完成情况已记录，并告知领导和服务中心。"
STAFF_FINISHED = "【{name}完成】{label}：{title}（{unit}）：{text}"
STAFF_REFORM_MARK = ("【改革任务候选】{number}（{category}）由{unit}办结时标记“现行机制无法解决”：{reason}\n"
                     "已记为{label}，发送「改革」查看，领导可「改革 交办 {seq} 职能部门 期限」。")
RESOLVED_REFORM = "\n已将“现行机制无法解决”的理由报服务中心，记为改革任务候选（{label}）。"
DIGEST_IMPROVEMENT = ("📋 改进事项：新提名 {proposed}，确认 {confirmed}，否决 {rejected}，交办 {assigned}，"
                      "进展 {progress}，完成 {done}；专家评审中 {reviewing}")
DIGEST_IMPROVEMENT_DONE = "· ✅ {label} {title}"
DIGEST_IMPROVEMENT_OVERDUE = "⚠ 改进事项超期 {n} 项："
DIGEST_IMPROVEMENT_OVERDUE_LINE = "· {label} {unit} 期限 {due}，超 {days} 个工作日"
SCHEDULED.update({
    "improvement_weak_spots": ("【薄弱环节】{period} 企业服务指数发现 {n} 个薄弱环节，已列为跟进候选。\n"
                               "发送「跟进」查看，点“交办”即交给该单位在 {days} 个工作日内改进。"),
    "improvement_review": ("【待评审】{label}：{title} 于 {since} 提名，您尚未投票。\n"
                           "请发送「实事 同意 {seq}」「实事 不同意 {seq} 意见」或「实事 意见 {seq} 意见」。"),
    "improvement_near_due": ("【即将到期】{label}：{title} 期限 {due}，{unit}请抓紧办理。\n"
                             "进展请发送「{word} 进展 {seq} 内容」，办完发送「{word} 完成 {seq} 完成情况」。"),
    "improvement_overdue": ("【已超期】{label}：{title} 期限 {due}，已超期 {days} 个工作日（{unit}）。\n"
                            "请发送「{word} 进展 {seq} 内容」说明情况，办完发送「{word} 完成 {seq} 完成情况」。"),
})
COMMAND_HELP.update({
    "实事": ("实事：为企办实事清单；实事 提名 [诉求编号…] 描述（调度员、领导）；实事 同意|不同意|意见 编号 [意见]"
           "（评审专家）；实事 确认|否决 编号（领导）；实事 交办 编号 单位 期限；实事 进展|完成 编号 内容"),
    "改革": ("改革：改革任务清单与候选（办结时标记“现行机制无法解决”的、指标未达标的类别）；"
           "改革 交办 编号 职能部门 期限（领导）；改革 进展|完成 编号 内容"),
    "跟进": "跟进：企业服务指数发现的薄弱环节及跟进事项；跟进 交办 编号 [单位] [期限]；跟进 进展|完成 编号 内容",
})
ERRORS.update({
    "improvement_staff_only": ("为企办实事、改革任务和薄弱环节跟进是工作人员的功能。想了解您的诉求办到哪了，"
                               "请发送「查询」；要反映新问题，直接描述即可。"),
    "improvement_oversight_only": "只有服务中心调度员和领导可以提名为企办实事、交办跟进事项。",
    "improvement_leader_only_shishi": "为企办实事须经专家评审后由领导确认或否决，{role_label}不能操作。",
    "improvement_leader_only_reform": "改革任务由领导交办给职能部门（规范“优化体制机制”），{role_label}不能交办。",
    "improvement_leader_only_followup": "只有领导可以进行这个操作。",
    "improvement_reviewer_only": "只有配置的评审专家（[improvement] reviewers）可以对为企办实事投票。",
    "improvement_not_owner": ("{kind_label} {seq} 不是贵单位负责的事项：只有责任单位、服务中心调度员和领导"
                              "可以填写进展或完成。"),
    "improvement_number": "请写事项编号（数字），例如：{kind_label} 3；「{text}」不是编号。",
    "improvement_not_found": "没有{kind_label} {seq}，发送「{kind_label}」查看清单。",
    "improvement_state": "{kind_label} {seq} 当前状态为「{item_state_label}」，不能{step_label}。",
    "improvement_title": "请写明事项内容（至少 4 个字），例如：实事 提名 开发区企业用电报装提速。",
    "improvement_opinion": "请写下意见内容，例如：实事 意见 {seq} 建议先在开发区试点。",
    "improvement_votes_missing": "实事 {seq} 的专家评审还差 {missing} 票（已投 {have}/{need}），未投票：{waiting}。",
    "improvement_reject_reason": "否决请写明理由，例如：实事 否决 3 已列入年度重点工作，不重复立项。",
    "improvement_deadline_past": "期限「{text}」已过或就是今天，请写今后的日期，如 2027-03-31 或 30个工作日。",
    "improvement_deadline_format": "「{text}」不是有效日期，请写如 2027-03-31、3月31日 或 30个工作日。",
    "improvement_assign_usage": ("请按格式发送：{kind_label} 交办 {seq} 责任单位 期限 [要求]，"
                                 "期限如 2027-03-31 或 30个工作日。"),
    "improvement_progress_empty": "请写明进展内容，例如：实事 进展 3 已完成方案起草。",
    "improvement_closing_empty": "请写明完成情况（至少 4 个字）：做了什么，固化成什么服务事项或工作机制。",
    "unsolvable_lead_only": "只有主办单位办结诉求 {number} 时可以标记“现行机制无法解决”；协办单位请在反馈中说明。",
    "unsolvable_reason": ("标记“现行机制无法解决”时请写明理由（至少 4 个字），例如："
                          "办结 编号 已解释政策 现行机制无法解决：缺少跨部门审批依据。"),
})


def improvement_label(kind: str, seq: int) -> str:
    """实事 3, 改革 1, 跟进 2: how an item is named and typed."""
    return IMPROVEMENT_LABEL.format(word=IMPROVEMENT_WORD.get(kind, kind), seq=seq)


def improvement_facts(source: str, period: str | None, facts: dict, appeals: list[str]) -> str:
    """Why a collected candidate is on the list: the report's figures, or the appeals it came from."""
    if source == "report":
        repeats = int(facts.get("repeats", 0))
        return IMPROVEMENT_FACTS_CANDIDATE.format(
            period=period or "", count=int(facts.get("count", 0)), share=facts.get("share", 0),
            repeats=IMPROVEMENT_FACTS_REPEATS.format(n=repeats) if repeats else "")
    if source in ("threshold", "weak_spot"):
        reasons = "、".join(IMPROVEMENT_REASON[code].format(v=value) for code, value in facts.items()
                           if code in IMPROVEMENT_REASON)
        return f"{period or ''} {reasons}".strip()
    return "、".join(appeals)

# ==== issue 17 §3 §6: 典型服务判例, the quarter's published cases, reports that arrive by themselves ====
CASE_MARKED = ("已将 {number} 列为典型服务判例（{category}；{units}；用时 {workdays}；企业评价 {rating}）。\n"
               "做法：{method}\n承办单位今后交办相近诉求时，会在交办通知中看到它。")
CASE_LIST_HEAD = "【典型服务判例】共列出 {count} 个（最近列入的在前）："
CASE_SEARCH_HEAD = "【典型服务判例】与「{query}」相关的 {count} 个："
CASE_LINE = "{number}（{category}；{units}；用时 {workdays}；{rating}）\n做法：{method}"
CASE_WHY = "　相近之处：{why}"
CASE_NONE = "判例库里还没有判例。调度员或领导发送「判例 编号 做法」，即可把办得好的已闭环诉求列为判例。"
CASE_SEARCH_NONE = "没有找到与「{query}」相关的判例。换个说法再试，或发送「判例」查看最近的判例。"
CASE_TAIL = "发送「判例 关键词」查找，例如：判例 变压器。"
CASE_WORKDAYS = "{days} 个工作日"
CASE_WORKDAYS_SAME_DAY = "不足 1 个工作日"
CASE_NOT_RATED = "未评价"
CASE_OFFER_HEAD = "可参考的典型判例："
CASE_OFFER_LINE = "· {number}（{category}）做法：{method}\n　相近：{why}"
CASE_SAME_CATEGORY = "同属「{category}」"
CASE_SHARED_WORDS = "都提到「{words}」"
ERRORS.update({
    "case_mark_roles": "只有服务中心调度员和领导可以把诉求列为典型服务判例。",
    "case_staff_only": "判例库仅供工作人员查阅。",
    "case_method_short": ("请写明做法（至少 {min} 个字），例如：判例 QH20261125-0007 "
                          "供电所与企业现场踏勘，三天内完成增容。"),
    "case_method_long": "做法请控制在 {max} 字以内。",
    "case_not_closed": "诉求 {number} 当前状态为「{status_label}」，还未闭环：企业评价或差评整改完成后，才能列为判例。",
    "showcase_quarter": "典型案例按季度评选，请写季度，如 2026Q4、本季度；「{text}」不是季度。",
    "showcase_leader_only": "典型案例的发布须由领导审核。",
    "showcase_numbers_missing": "请写出要发布的编号，例如：典型 发布 QH20261125-0007；发送「典型」查看候选。",
    "showcase_not_candidate": "{numbers} 不是 {period} 的典型候选，发送「典型 {period}」查看候选。",
})
SHOWCASE_HEAD = "【{period} 正反面典型候选】（只取本季度办结并评价、或本季度核实有效的差评）"
SHOWCASE_POSITIVE = "正面典型："
SHOWCASE_NEGATIVE = "反面典型："
SHOWCASE_POSITIVE_LINE = "{number}（{unit}，{category}）非常满意：“{comment}”{state}"
SHOWCASE_NEGATIVE_LINE = "{number}（{unit}）{tags}；核实意见：{note}{state}"
SHOWCASE_NONE = "无"
SHOWCASE_PUBLISHED = "　【已发布：{by} {at}】"
SHOWCASE_TAIL = "领导发送「典型 发布 {period} 编号…」审核发布（可一次写多个编号）。"
SHOWCASE_DONE = "已发布 {period} 典型案例 {count} 个：{numbers}。发布记录（审核人 {by}、时间 {at}）写入报告。"
SHOWCASE_ALREADY = "{numbers} 已经发布过，未重复记录。"
REPORT_AUTO = (
    "【{kind}企业服务指数报告 {label}】已生成：受理 {received} 件，办结 {resolved} 件，指数 {index}。\n"
    "完整报告（指标、图表、红黑榜、典型案例和明细）：{name}，请点击下方链接下载；链接 {until} 前有效，仅供本人使用，"
    "过期后发送「报告 {label}」即可重新获取。"
)
REPORT_AUTO_KIND = {"month": "月度", "quarter": "季度"}
REPORT_AUTO_SHOWCASE = "{label} 正反面典型候选待您审核发布，发送「典型 {label}」查看。"
