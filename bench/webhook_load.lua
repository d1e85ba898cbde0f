-- wrk script for bench/webhooks.py: every request a distinct Telegram update or a distinct,
-- freshly signed Slack event, and one machine-readable summary line at the end.
--
--   wrk ... -s bench/webhook_load.lua URL -- telegram SECRET_TOKEN
--   wrk ... -s bench/webhook_load.lua URL -- slack SIGNING_SECRET
--
-- Ids: thread i of n sends i+1, i+1+n, i+1+2n, ... so no two requests of a run share an
-- update_id (Telegram) or an event_id and message ts (Slack), whatever the thread count.
--
-- Slack signs v0:<timestamp>:<body> with HMAC-SHA256. wrk's LuaJIT has no HMAC of its own,
-- but wrk is linked against OpenSSL's libcrypto, so its HMAC() is reached through the FFI:
-- each event is signed as Slack would sign it, with the current time, and the server checks
-- it with its real verification.

local ffi = require("ffi")
ffi.cdef [[
typedef struct evp_md_st EVP_MD;
const EVP_MD *EVP_sha256(void);
unsigned char *HMAC(const EVP_MD *evp_md, const void *key, int key_len,
                    const unsigned char *d, size_t n, unsigned char *md, unsigned int *md_len);
]]

local threads = {}

-- Runs in the main Lua state, once per thread, before the threads start.
function setup(thread)
   thread:set("thread_index", #threads)
   table.insert(threads, thread)
end

-- Globals, not locals, where done() reads them back through thread:get().
local kind, secret
local digest = ffi.new("unsigned char[32]")
local digest_len = ffi.new("unsigned int[1]")

local function hmac_hex(key, message)
   ffi.C.HMAC(ffi.C.EVP_sha256(), key, #key, message, #message, digest, digest_len)
   local hex = {}
   for i = 0, digest_len[0] - 1 do
      hex[#hex + 1] = string.format("%02x", digest[i])
   end
   return table.concat(hex)
end

-- The same shapes as bench/stand_ins.py's telegram_update() and slack_event().
local TELEGRAM = '{"update_id":%d,"message":{"message_id":%d,"date":%d,'
   .. '"chat":{"id":%d,"type":"private","first_name":"Ada"},'
   .. '"from":{"id":%d,"is_bot":false,"first_name":"Ada","language_code":"en",'
   .. '"last_name":"Lovelace","username":"ada%d"},"text":"where is my order %d?"}}'
local SLACK = '{"token":"legacy","team_id":"T0BENCH","api_app_id":"A0APP",'
   .. '"type":"event_callback","event_id":"Ev%08d","event_time":%d,'
   .. '"event":{"type":"message","user":"U%04d","text":"where is my order %d?",'
   .. '"ts":"%s","channel":"C0SUPPORT","event_ts":"%s","channel_type":"channel"}}'

local telegram_headers, slack_headers

-- Runs in each thread's own Lua state; args are what follows `--` on wrk's command line.
function init(args)
   kind, secret, stride = args[1], args[2], tonumber(args[3])
   counter = thread_index + 1 - stride
   non2xx = 0
   if kind == "telegram" then
      telegram_headers = {
         ["Content-Type"] = "application/json",
         ["X-Telegram-Bot-Api-Secret-Token"] = secret,
      }
   elseif kind == "slack" then
      slack_headers = { ["Content-Type"] = "application/json" }
   else
      error("webhook_load.lua: the first argument is telegram or slack, not " .. tostring(kind))
   end
end

function request()
   counter = counter + stride
   local n = counter
   local user = 9000 + n % 100
   if kind == "telegram" then
      local body = string.format(TELEGRAM, n, n, os.time(), user, user, user, n)
      return wrk.format("POST", nil, telegram_headers, body)
   end
   local ts = string.format("%d.%06d", 1700000000 + n, n % 1000000)
   local body = string.format(SLACK, n, 1700000000 + n, n % 100, n, ts, ts)
   local stamp = tostring(os.time())
   slack_headers["X-Slack-Request-Timestamp"] = stamp
   slack_headers["X-Slack-Signature"] = "v0=" .. hmac_hex(secret, "v0:" .. stamp .. ":" .. body)
   return wrk.format("POST", nil, slack_headers, body)
end

function response(status, headers, body)
   if status < 200 or status > 299 then
      non2xx = non2xx + 1
      if non2xx == 1 then
         first_failure = status .. " " .. string.sub(body or "", 1, 200)
      end
   end
end

-- Runs in the main state once every thread has stopped; bench/wrk.py reads this line.
function done(summary, latency, requests)
   local failed, sent, failure = 0, 0, ""
   for _, thread in ipairs(threads) do
      failed = failed + thread:get("non2xx")
      -- counter is the last id a thread generated: ids i+1, i+1+n, ... up to it.
      sent = sent + math.floor((thread:get("counter") - thread:get("thread_index") - 1)
         / thread:get("stride")) + 1
      failure = thread:get("first_failure") or failure
   end
   local e = summary.errors
   io.write(string.format(
      'BENCH-WRK {"requests":%d,"duration_us":%d,"non2xx":%d,"generated":%d,'
         .. '"connect_errors":%d,"read_errors":%d,"write_errors":%d,"timeouts":%d,'
         .. '"p50_us":%d,"p99_us":%d,"first_failure":"%s"}\n',
      summary.requests, summary.duration, failed, sent,
      e.connect, e.read, e.write, e.timeout,
      latency:percentile(50), latency:percentile(99),
      (string.gsub(failure, '[%c"\\]', " "))))
end
