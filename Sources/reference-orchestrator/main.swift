print("reference-orchestrator: not yet built")
