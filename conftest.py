# Makes `import gitdemo` work when pytest runs from the repository root without installing it.
