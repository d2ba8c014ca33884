#!/usr/bin/env python3
"""Regenerates the seed-shaped JSON fixtures under api/src/test/resources/seed/ from the
reference system's published v1alpha1 types (../shared/seeds/000_*.txt).

Every struct field with a json tag gets a sample value of its Go type, embedded structs marked
`json:",inline"` are flattened, so each fixture holds every field of the published type with its
exact JSON name. The tests only read the committed fixtures; run this after the seed changes:

    python3 api/src/test/seed/generate_fixtures.py ../shared/seeds/000_1735a9f7058d2a79.txt
"""
import json
import os
import re
import sys

CORE = {
    "corev1.PodTemplateSpec": {
        "metadata": {"labels": {"app": "sample"}},
        "spec": {"containers": [{"name": "main", "image": "registry.example/sandbox:1",
                                 "ports": [{"containerPort": 8080, "name": "http"}]}]},
    },
    "corev1.Probe": {"httpGet": {"path": "/health", "port": 8080}, "periodSeconds": 5},
    "corev1.Protocol": "TCP",
    "corev1.ResourceRequirements": {"limits": {"cpu": "2"}, "requests": {"memory": "1Gi"}},
    "corev1.ResourceList": {"cpu": "500m"},
    "metav1.Duration": "1m30s",
    "metav1.LabelSelector": {"matchLabels": {"agentbox.navix.sh/sandbox-pool": "sample"}},
    "metav1.Time": "2026-06-11T10:00:00Z",
    "runtime.RawExtension": {"any": {"nested": ["value"]}},
    "metav1.Condition": {"type": "Available", "status": "True", "reason": "AllReplicasReady",
                         "message": "sample", "lastTransitionTime": "2026-06-11T10:00:00Z",
                         "observedGeneration": 3},
    "string": "sample",
    "int32": 3,
    "int64": 7,
    "bool": True,
    "map[string]string": {"key": "value"},
}


def parse(text):
    lines = text.split("\n")
    structs, enums = {}, {}
    for m in re.finditer(r'^\t(\w+)\s+(\w+)\s*=\s*"([^"]*)"', text, re.M):
        enums.setdefault(m.group(2), m.group(3))
    i = 0
    while i < len(lines):
        m = re.match(r"^type (\w+) struct \{", lines[i])
        if m:
            fields, j = [], i + 1
            while not lines[j].startswith("}"):
                f = re.match(r'^\t(\w+)?\s*([^\s`]+)?\s*`json:"([^"]*)"', lines[j])
                if f:
                    name, typ, tag = f.groups()
                    if typ is None:  # embedded: `Foo `json:",inline"``
                        typ = name
                    fields.append((typ, tag.split(",")[0], "inline" in tag.split(",")[1:]))
                j += 1
            structs[m.group(1)] = fields
            i = j
        i += 1
    return structs, enums


def sample(typ, structs, enums):
    typ = typ.lstrip("*")
    if typ.startswith("[]"):
        return [sample(typ[2:], structs, enums)]
    if typ in CORE:
        return CORE[typ]
    if typ in structs:
        return obj(typ, structs, enums)
    if typ in enums:
        return enums[typ]
    raise SystemExit("no sample for type " + typ)


def obj(name, structs, enums):
    out = {}
    for typ, key, inline in structs[name]:
        if typ in (".TypeMeta", ".ObjectMeta", ".ListMeta"):
            continue
        if inline:
            out.update(obj(typ.lstrip("*"), structs, enums))
        else:
            out[key] = sample(typ, structs, enums)
    return out


def main():
    structs, enums = parse(open(sys.argv[1], encoding="utf-8").read())
    here = os.path.dirname(os.path.abspath(__file__))
    out_dir = os.path.join(here, "..", "resources", "seed")
    os.makedirs(out_dir, exist_ok=True)
    for kind, namespaced in (("SandboxTemplate", False), ("SandboxPool", True), ("SandboxEnv", True)):
        meta = {"name": "sample"}
        if namespaced:
            meta["namespace"] = "default"
        doc = {"apiVersion": "agents.navix.sh/v1alpha1", "kind": kind, "metadata": meta}
        doc.update(obj(kind, structs, enums))
        write(out_dir, kind.lower() + ".json", doc)


def write(out_dir, name, value):
    with open(os.path.join(out_dir, name), "w", encoding="utf-8") as f:
        json.dump(value, f, indent=2, sort_keys=True)
        f.write("\n")


if __name__ == "__main__":
    main()
