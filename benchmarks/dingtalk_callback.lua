-- wrk script: signed DingTalk robot callbacks (channels.md §1.1) from many enterprises.
-- Args: timestamp_ms sign fake_url users tag. The signature covers the timestamp only, so one
-- (timestamp, sign) pair signs every request for the hour it is valid.
local texts = {"你好", "帮助", "查询",
  "园区这周已经停电三次了，每次都没有提前通知，生产设备损坏严重，希望供电所给个说法", "取消"}
local counter = 0
local threads = {}

function setup(thread)
  thread:set("thread_id", #threads)
  table.insert(threads, thread)
end

function init(args)
  ts, sig, fake_url, users, tag = args[1], args[2], args[3], tonumber(args[4]), args[5]
  wrk.method = "POST"
  wrk.headers["Content-Type"] = "application/json; charset=utf-8"
  wrk.headers["timestamp"] = ts
  wrk.headers["sign"] = sig
end

function request()
  counter = counter + 1
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
  return wrk.format(nil, nil, nil, body)
end
