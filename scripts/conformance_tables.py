#!/usr/bin/env python3
"""Groups the unsupported cases of testdata/node-report.txt (written by
`cargo test -p pocketnn-tests --test onnx_conformance`) into the markdown
tables of docs/conformance.md.

    python3 scripts/conformance_tables.py [testdata/node-report.txt]
"""
import collections
import re
import sys

path = sys.argv[1] if len(sys.argv) > 1 else "testdata/node-report.txt"
lines = open(path).read().splitlines()
print(f"<!-- {lines[0]} -->\n")
ops, dtypes, other = collections.Counter(), collections.Counter(), collections.Counter()
for line in lines[1:]:
    match = re.match(r"unsupported (\S+): (.*)", line)
    if not match:
        continue
    reason = match.group(2)
    if op := re.search(r"unsupported operator (\S+)", reason):
        ops[op.group(1)] += 1
    elif dtype := re.search(r"element type (\S+),", reason):
        dtypes[dtype.group(1)] += 1
    else:
        reason = re.sub(r"`[^`]*`", "`…`", reason)
        reason = re.sub(r" in node #\d+", "", reason)
        other[re.sub(r" \(opset \d+\)", "", reason)] += 1

print(f"### Operators not implemented ({sum(ops.values())} cases, {len(ops)} operators)\n")
print("| operator | cases |\n|---|---:|")
for name, count in sorted(ops.items(), key=lambda x: (-x[1], x[0])):
    print(f"| `{name}` | {count} |")
print(f"\n### Element types pocketnn does not have ({sum(dtypes.values())} cases)\n")
print("| element type | cases |\n|---|---:|")
for name, count in dtypes.most_common():
    print(f"| {name} | {count} |")
print(f"\n### Other reasons ({sum(other.values())} cases)\n")
print("| reason (as the converter reports it) | cases |\n|---|---:|")
for reason, count in other.most_common():
    print(f"| {reason} | {count} |")
