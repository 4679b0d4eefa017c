# system tests (root, network namespaces)
