-- wrk script for bench/flood.ts: POSTs to /v1/jobs, each request with a bearer
-- token nobody issued. Paced by delay(): each connection waits before each
-- request, starting at `connections / rate` seconds; once a second the delay
-- is corrected by the rate answered in the last second, since each cycle also
-- holds the answer's latency (wrk itself has no rate option). Run with -t1:
-- one Lua state sees every connection.
local delay_ms = 10
local target = 1000
local n = 0
local answered, counted, second = 0, 0, 0

function init(args)
  local connections, rate = tonumber(args[1]), tonumber(args[2])
  target = rate
  delay_ms = math.floor(connections * 1000 / rate)
  math.randomseed(os.time() + tonumber(tostring({}):sub(8), 16))
end

function delay()
  return delay_ms
end

function response()
  answered = answered + 1
  local now = os.time()
  if now ~= second then
    local rate = answered - counted
    if second ~= 0 and rate > 0 then
      delay_ms = math.max(1, math.min(10000, math.floor(delay_ms * rate / target)))
    end
    counted, second = answered, now
  end
end

function request()
  n = n + 1
  local token = string.format("bogus-%08x%08x%d", math.random(0, 0x7fffffff), math.random(0, 0x7fffffff), n)
  return wrk.format("POST", "/v1/jobs?route=api", {
    ["Content-Type"] = "application/json",
    ["Authorization"] = "Bearer " .. token,
  }, '{"CUSTOM_ID":"x"}')
end

function done(summary, latency, requests)
  io.write(string.format('{"requests":%d,"durationUs":%d,"errors":%d}\n',
    summary.requests, summary.duration,
    summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout))
end
