print("orchlog: not yet built")
