"""The checklists service: monthly responsibility checklists, inspection templates, highlights, publicity."""
