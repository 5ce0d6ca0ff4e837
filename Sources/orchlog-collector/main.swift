print("orchlog-collector: not yet built")
