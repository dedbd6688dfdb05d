-- wrk script for bench_billing.py: Stripe's deliveries, each a distinct
-- event signed beforehand (well inside the endpoint's replay tolerance).
-- The file has one delivery a line: "<Stripe-Signature>\t<JSON body>".
-- wrk runs this in every thread; thread k sends lines k, k + T, k + 2T, ...
-- (T threads), so no event is sent twice. Arguments: threads, file.

local next_id = 0

function setup(thread)
  thread:set("id", next_id)
  next_id = next_id + 1
end

function init(args)
  local threads = tonumber(args[1])
  -- Each request is formatted here, before wrk starts its clock, not in
  -- request(): formatting in the loop was about a tenth of wrk's CPU per
  -- delivery (0.123 -> 0.110 ms), spent on the same two cores the server
  -- runs on, which the ceiling's fixed request does not pay.
  requests = {}
  local i = 0
  for line in io.lines(args[2]) do
    if i % threads == id then
      local tab = line:find("\t", 1, true)
      local headers = {["Content-Type"] = "application/json", ["Stripe-Signature"] = line:sub(1, tab - 1)}
      requests[#requests + 1] = wrk.format("POST", nil, headers, line:sub(tab + 1))
    end
    i = i + 1
  end
  sent = 0
end

function request()
  sent = sent + 1
  local request = requests[sent]
  if request == nil then
    -- More requests than deliveries made: the bench sized the file too small.
    -- Send an unsigned one, which the endpoint refuses, so the run counts a failure.
    return wrk.format("POST", nil, {["Content-Type"] = "application/json"}, "{}")
  end
  return request
end
