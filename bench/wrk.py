"""Load from wrk (C, epoll): the generator costs a fraction of the CPU it would take from the
provider if it were Python processes on the same two cores.

Each connection gets its own list of requests, sent in order on one keep-alive connection (one
wrk thread per connection, so a client's signed requests arrive with increasing nonces). Every
request carries a kind; the Lua script counts answers per kind and every answer outside
2xx as an error, and times each request with the monotonic clock (LuaJIT's FFI), so medians
and p99 come per kind from one mixed run.

    run_wrk(url, [[(kind, "GET", path), ...], ...], seconds=10) -> {"kinds": {kind: {...}}, ...}

Debian's `wrk` (make bench-tools installs it).
"""
from __future__ import annotations

import json
import re
import shutil
import statistics
import subprocess
import tempfile
from pathlib import Path

SCRIPT = r"""
local ffi = require("ffi")
ffi.cdef[[ typedef struct { long tv_sec; long tv_nsec; } wrk_timespec;
           int clock_gettime(int clk, wrk_timespec *ts); ]]
local ts = ffi.new("wrk_timespec")
local function now_us()
  ffi.C.clock_gettime(1, ts)
  return tonumber(ts.tv_sec) * 1000000 + tonumber(ts.tv_nsec) / 1000
end

local threads = {}
local next_id = 0
function setup(thread)
  thread:set("id", next_id)
  next_id = next_id + 1
  table.insert(threads, thread)
end

function init(args)
  plan, kinds, at = {}, {}, 0
  samples, errors, kind_list = {}, {}, ""  -- one flat table per kind: wrk copies flat tables only
  local f = assert(io.open(args[1] .. "/" .. id .. ".txt"))
  local bodies = {}
  for line in f:lines() do
    local kind, method, path, body_file, content_type = line:match("^(%S+) (%S+) (%S+) ?(%S*) ?(%S*)$")
    local body, headers = nil, nil
    if body_file ~= "" then
      if bodies[body_file] == nil then
        local b = assert(io.open(args[1] .. "/" .. body_file, "rb"))
        bodies[body_file] = b:read("*a")
        b:close()
      end
      body, headers = bodies[body_file], {["Content-Type"] = content_type}
    end
    table.insert(plan, wrk.format(method, path, headers, body))
    table.insert(kinds, kind)
  end
  f:close()
  sent_kind, sent_at = nil, 0
end

function request()
  at = at + 1
  if at > #plan then
    at = 1  -- only when a list was too short: its repeats are answered 4xx and counted
  end
  sent_kind, sent_at = kinds[at], now_us()
  return plan[at]
end

function response(status, headers, body)
  local kind = sent_kind
  local list = samples[kind]
  if list == nil then
    list = {}
    samples[kind] = list
    _G["samples_" .. kind] = list
    kind_list = kind_list .. kind .. " "
  end
  list[#list + 1] = now_us() - sent_at
  if status < 200 or status > 299 then
    local key = kind .. " " .. status
    errors[key] = (errors[key] or 0) + 1
  end
end

function done(summary, latency, requests)
  local out = assert(io.open(result_path, "w"))
  for _, thread in ipairs(threads) do
    for kind in thread:get("kind_list"):gmatch("%S+") do
      out:write("S ", kind, " ", table.concat(thread:get("samples_" .. kind), " "), "\n")
    end
    for key, n in pairs(thread:get("errors")) do
      out:write("E ", (key:gsub(" ", "|")), " ", n, "\n")
    end
  end
  local e = summary.errors
  out:write(string.format("X connect %d\nX read %d\nX write %d\nX timeout %d\n",
                          e.connect, e.read, e.write, e.timeout))
  out:write(string.format("D %d\n", summary.duration))
  out:close()
end
"""


def available() -> bool:
    return shutil.which("wrk") is not None


Request = tuple  # (kind, method, path) or (kind, method, path, body bytes, content type)


def run_wrk(url: str, per_connection: list[list[Request]], seconds: float, timeout_s: int = 30) -> dict:
    """One wrk run, one thread and one connection per list. Returns per kind: count, rps, p50_ms,
    p99_ms; `errors` {"<kind> <status>" or socket error: count}; `seconds` as wrk measured."""
    if not available():
        raise RuntimeError("wrk is not installed: make bench-tools")
    folder = Path(tempfile.mkdtemp(prefix="bench-wrk-"))
    result = folder / "result.txt"
    (folder / "script.lua").write_text(f"result_path = {json.dumps(str(result))}\n" + SCRIPT)
    bodies: dict[bytes, str] = {}

    def line(request: Request) -> str:
        kind, method, path = request[:3]
        if not re.fullmatch(r"[A-Za-z_]\w*", kind) or " " in path:
            raise ValueError(f"bad request for wrk: {request[:3]}")
        if len(request) == 3:
            return f"{kind} {method} {path}\n"
        body, content_type = request[3], request[4]
        if body not in bodies:
            bodies[body] = f"body{len(bodies)}.bin"
            (folder / bodies[body]).write_bytes(body)
        return f"{kind} {method} {path} {bodies[body]} {content_type}\n"

    for index, requests_ in enumerate(per_connection):
        (folder / f"{index}.txt").write_text("".join(line(r) for r in requests_))
    count = len(per_connection)
    subprocess.run(["wrk", "-t", str(count), "-c", str(count), "-d", f"{seconds:g}s", "--timeout", f"{timeout_s}s",
                    "-s", str(folder / "script.lua"), url, "--", str(folder)],
                   check=True, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, timeout=seconds + 120)
    samples: dict[str, list[float]] = {}
    errors: dict[str, int] = {}
    duration = seconds
    for line in result.read_text().splitlines():
        tag, _, rest = line.partition(" ")
        if tag == "S":
            kind, _, values = rest.partition(" ")
            samples.setdefault(kind, []).extend(float(v) / 1000 for v in values.split())
        elif tag == "E":
            key, n = rest.rsplit(" ", 1)
            errors[key.replace("|", " ")] = errors.get(key.replace("|", " "), 0) + int(n)
        elif tag == "X":
            name, n = rest.split()
            if int(n):
                errors[f"socket {name}"] = int(n)
        elif tag == "D":
            duration = int(rest) / 1e6
    shutil.rmtree(folder, ignore_errors=True)
    kinds = {kind: figures(values, duration) for kind, values in samples.items()}
    every = [v for values in samples.values() for v in values]
    return {"kinds": kinds, "all": figures(every, duration), "errors": errors, "seconds": duration}


def figures(latencies_ms: list[float], seconds: float) -> dict:
    if not latencies_ms:
        return {"count": 0, "rps": 0.0, "p50_ms": 0.0, "p99_ms": 0.0}
    ordered = sorted(latencies_ms)
    return {"count": len(ordered), "rps": round(len(ordered) / seconds, 1),
            "p50_ms": round(statistics.median(ordered), 2),
            "p99_ms": round(ordered[min(len(ordered) - 1, int(0.99 * len(ordered)))], 2)}
