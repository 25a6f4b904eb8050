def never():
    return 0
