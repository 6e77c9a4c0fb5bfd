"""Prints the test executables of the named packages, one per line, from
`cargo test --no-run --message-format json` on stdin (scripts/test.sh)."""
import json
import sys

wanted = set(sys.argv[1:])
for line in sys.stdin:
    try:
        message = json.loads(line)
    except json.JSONDecodeError:
        continue
    if message.get("reason") != "compiler-artifact" or not message.get("executable"):
        continue
    # package_id: "path+file:///.../crates/core-tensor#pocketnn-tensor@0.1.0"
    name = message["package_id"].split("#")[-1].split("@")[0]
    if name in wanted and message["profile"]["test"]:
        print(message["executable"])
