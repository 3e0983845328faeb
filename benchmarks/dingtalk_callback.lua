-- wrk script: signed DingTalk robot callbacks (channels.md §1.1) from many enterprises.
-- Args: pairs_file threads fake_url users tag. pairs_file holds "timestamp sign" lines (benchmarks/common.py
-- signed_pairs): qihu refuses a pair seen with another msgId, so each request uses a pair of its own,
-- thread k taking every k-th line.
local texts = {"你好", "帮助", "查询",
  "园区这周已经停电三次了，每次都没有提前通知，生产设备损坏严重，希望供电所给个说法", "取消"}
local counter = 0
local threads = {}

function setup(thread)
  thread:set("thread_id", #threads)
  table.insert(threads, thread)
end

function init(args)
  local pairs_file, thread_count = args[1], tonumber(args[2])
  fake_url, users, tag = args[3], tonumber(args[4]), args[5]
  pairs = {}
  local i = 0
  for line in io.lines(pairs_file) do
    if i % thread_count == thread_id then
      local t, s = line:match("^(%d+) (%S+)$")
      pairs[#pairs + 1] = {t, s}
    end
    i = i + 1
  end
  wrk.method = "POST"
end

function request()
  counter = counter + 1
  local pair = pairs[((counter - 1) % #pairs) + 1]
  local ts = pair[1]
  -- users are split between threads; each user walks through the texts in order
  local per_thread = math.max(1, math.floor(users / 2))
  local user = thread_id * per_thread + (counter % per_thread)
  local text = texts[(math.floor(counter / per_thread) % #texts) + 1]
  local staff = "ent-" .. tag .. "-" .. user
  local body = '{"msgtype":"text","text":{"content":" ' .. text .. '"},"msgId":"' .. tag .. "-" .. thread_id
    .. "-" .. counter .. '","createAt":' .. ts .. ',"conversationType":"1","conversationId":"cid' .. staff
    .. '","senderId":"$:LWCP_v1:$' .. staff .. '","senderNick":"企业' .. user .. '","senderStaffId":"' .. staff
    .. '","robotCode":"dingbenchkey","sessionWebhook":"' .. fake_url .. '/robot/sendBySession?session=' .. staff
    .. '","sessionWebhookExpiredTime":' .. (ts + 5400000) .. '}'
  local headers = {["Content-Type"] = "application/json; charset=utf-8", ["timestamp"] = ts, ["sign"] = pair[2]}
  return wrk.format(nil, nil, headers, body)
end
