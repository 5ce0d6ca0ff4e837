// The instrumenting guide's examples (docs/instrumenting.md) live here and are compiled by `make test`.
print("orchlog-example")
