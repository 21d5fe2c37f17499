"""The algorithm both client tests publish: counts the lines of its inputs, writes a JSON
result, and keeps working for algoCustomData["sleep"] seconds (so a job can be stopped)."""
import glob
import json
import os
import time

custom = json.load(open("/data/inputs/algoCustomData.json"))
files = [path for path in sorted(glob.glob("/data/inputs/*/*")) if os.path.isfile(path)]
lines = sum(open(path).read().count("\n") for path in files)
print(f"read {len(files)} file(s), {lines} line(s)", flush=True)
for tick in range(int(custom.get("sleep", 0)) * 2):
    print("working", tick, flush=True)
    time.sleep(0.5)
with open("/data/outputs/result.json", "w") as out:
    json.dump({"files": len(files), "lines": lines}, out)
