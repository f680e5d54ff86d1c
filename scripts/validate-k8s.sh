#!/usr/bin/env bash
# Validates every Kubernetes manifest under deploy/k8s/ offline, against the schemas of one pinned
# Kubernetes version (kubernetes-validate ships them in its package; no cluster, no network once
# installed). Strict: an unknown field, a missing required one or a kind without a schema fails.
# Also checks what schemas cannot: each kustomization lists every manifest beside it and nothing
# missing, and the shard count N agrees in the Indexed Job (completions, parallelism,
# LOADGEN_SHARDS) and the merge Job. When kubectl is on PATH, each kustomization must render.
#
#   scripts/validate-k8s.sh                 # K8S_VERSION=1.33.0 by default
#   K8S_VERSION=1.37.0 scripts/validate-k8s.sh
#   K8S_DIR=other/manifests scripts/validate-k8s.sh
#
# Installs kubernetes-validate (pinned) with pip when it is missing.
# Exit status: 0 valid; 1 a manifest is invalid; 2 setup error.
set -euo pipefail
cd "$(dirname "$0")/.."

k8s_version=${K8S_VERSION:-1.33.0}
validator_version=1.37.0
dir=${K8S_DIR:-deploy/k8s}
python=${PYTHON:-python3}

if ! "$python" -c 'import kubernetes_validate, yaml' 2>/dev/null; then
  echo "validate-k8s: installing kubernetes-validate==$validator_version (pip)" >&2
  "$python" -m pip install --quiet --disable-pip-version-check "kubernetes-validate==$validator_version" \
    || { echo "validate-k8s: could not install kubernetes-validate" >&2; exit 2; }
fi

"$python" - "$dir" "$k8s_version" <<'PY'
import pathlib
import sys

import kubernetes_validate
import yaml

root, version = pathlib.Path(sys.argv[1]), sys.argv[2]
errors = []
docs = []  # (path, document)

for path in sorted(root.rglob("*.yaml")):
    try:
        loaded = [d for d in yaml.safe_load_all(path.read_text()) if d is not None]
    except yaml.YAMLError as e:
        errors.append(f"{path}: not valid YAML: {e}")
        continue
    for doc in loaded:
        docs.append((path, doc))

for path, doc in docs:
    kind = doc.get("kind")
    if kind == "Kustomization":
        listed = {(path.parent / r).resolve() for r in doc.get("resources", [])}
        beside = {p.resolve() for p in path.parent.glob("*.yaml") if p.name != "kustomization.yaml"}
        for missing in sorted(listed - {p for p in listed if p.exists()}):
            errors.append(f"{path}: lists {missing.name}, which does not exist")
        for unlisted in sorted(beside - listed):
            errors.append(f"{path}: does not list {unlisted.name}")
        continue
    name = f"{path}: {kind}/{doc.get('metadata', {}).get('name')}"
    try:
        kubernetes_validate.validate(doc, version, strict=True)
        print(f"ok   {name} (Kubernetes {version}, strict)")
    except kubernetes_validate.ValidationError as e:
        errors.append(f"{name}: {e.message} at {'.'.join(str(p) for p in e.path)}")
    except (kubernetes_validate.SchemaNotFoundError, kubernetes_validate.InvalidSchemaError) as e:
        errors.append(f"{name}: no schema to check it against: {e}")


def env_value(pod_spec, var):
    for c in pod_spec.get("containers", []):
        for e in c.get("env", []):
            if e.get("name") == var and "value" in e:
                return e["value"]
    return None


shards = {}
for path, doc in docs:
    if doc.get("kind") != "Job":
        continue
    spec = doc.get("spec", {})
    pod = spec.get("template", {}).get("spec", {})
    n = env_value(pod, "LOADGEN_SHARDS")
    name = doc["metadata"]["name"]
    if spec.get("completionMode") == "Indexed":
        counts = {spec.get("completions"), spec.get("parallelism"), int(n) if n else None}
        if len(counts) != 1:
            errors.append(f"{path}: Job {name}: completions {spec.get('completions')}, parallelism "
                          f"{spec.get('parallelism')} and LOADGEN_SHARDS {n} must be equal")
    if n is not None:
        shards[name] = int(n)
if len(set(shards.values())) > 1:
    errors.append(f"LOADGEN_SHARDS differs between Jobs: {shards}")

for e in errors:
    print(f"FAIL {e}", file=sys.stderr)
print(f"validate-k8s: {len(docs)} documents, {len(errors)} problems", file=sys.stderr)
sys.exit(1 if errors else 0)
PY

if command -v kubectl >/dev/null; then
  for k in $(find "$dir" -name kustomization.yaml); do
    kubectl kustomize "$(dirname "$k")" >/dev/null || { echo "validate-k8s: $k does not render" >&2; exit 1; }
    echo "ok   $k renders (kubectl kustomize)"
  done
fi
