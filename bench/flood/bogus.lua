-- wrk script for bench/flood.ts: POSTs to /v1/jobs, each request with a bearer
-- token nobody issued. Paced by delay(): each connection waits
-- `connections / rate` seconds between requests, so all together send about
-- `rate` requests a second (wrk itself has no rate option).
local delay_ms = 10
local n = 0

function init(args)
  local connections, rate = tonumber(args[1]), tonumber(args[2])
  delay_ms = math.floor(connections * 1000 / rate)
  math.randomseed(os.time() + tonumber(tostring({}):sub(8), 16))
end

function delay()
  return delay_ms
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
