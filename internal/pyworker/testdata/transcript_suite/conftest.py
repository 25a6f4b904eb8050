def pytest_report_collectionfinish(config, start_path, items):
    return "transcript: a line after the collected line"
