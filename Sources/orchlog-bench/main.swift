print("orchlog-bench: not yet built")
