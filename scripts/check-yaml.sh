#!/usr/bin/env bash
# Checks the syntax of YAML files (the release workflow) with PyYAML, read as YAML 1.2 reads it
# (as GitHub Actions does: `on` is a key, not a boolean), duplicate keys refused.
#
#   check-yaml.sh FILE...      one line FILE:LINE:COLUMN: PROBLEM for each broken file, then exit 1
#   check-yaml.sh --json FILE  prints FILE's content as JSON (for tests)
#
# Needs a python3 with PyYAML; installs Debian's python3-yaml if none has it (as root).
set -euo pipefail

python=""
for candidate in /usr/bin/python3 python3; do
  if "$candidate" -c 'import yaml' 2>/dev/null; then
    python=$candidate
    break
  fi
done
if [ -z "$python" ]; then
  if [ "$(id -u)" != 0 ]; then
    echo "check-yaml.sh: needs PyYAML; install it as root: apt-get install python3-yaml" >&2
    exit 1
  fi
  apt-get install -y -qq python3-yaml >&2 || { apt-get update -qq >&2 && apt-get install -y -qq python3-yaml >&2; }
  python=/usr/bin/python3
fi

exec "$python" - "$@" <<'EOF'
import json, re, sys
import yaml

class Loader(yaml.SafeLoader):
    """YAML 1.2 booleans (true/false only) and no duplicate keys."""

    def construct_mapping(self, node, deep=False):
        seen = set()
        for key_node, _ in node.value:
            key = self.construct_object(key_node, deep=deep)
            if key in seen:
                raise yaml.MarkedYAMLError(
                    "while reading a mapping", node.start_mark,
                    f"found duplicate key {key!r}", key_node.start_mark)
            seen.add(key)
        return super().construct_mapping(node, deep)

Loader.yaml_implicit_resolvers = {
    first: [(tag, regexp) for tag, regexp in resolvers if tag != "tag:yaml.org,2002:bool"]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}
Loader.add_implicit_resolver(
    "tag:yaml.org,2002:bool", re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$"), list("tTfF"))

args = sys.argv[1:]
as_json = args[:1] == ["--json"]
files = args[1:] if as_json else args
if not files or (as_json and len(files) != 1):
    sys.exit("usage: check-yaml.sh FILE... | check-yaml.sh --json FILE")
failed = False
for name in files:
    try:
        with open(name, encoding="utf-8") as f:
            data = yaml.load(f, Loader=Loader)
    except yaml.MarkedYAMLError as err:
        mark = err.problem_mark or err.context_mark
        where = f"{mark.line + 1}:{mark.column + 1}" if mark else "?"
        print(f"{name}:{where}: {err.problem or err.context}", file=sys.stderr)
        failed = True
        continue
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as err:
        print(f"{name}: {err}", file=sys.stderr)
        failed = True
        continue
    if as_json:
        print(json.dumps(data, default=str))
sys.exit(1 if failed else 0)
EOF
