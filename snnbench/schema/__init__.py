"""JSON Schemas of the files snnbench reads and writes (package data)."""
