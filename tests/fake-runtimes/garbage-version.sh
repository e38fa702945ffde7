# Prints bytes that are not a version.
printf '\377\376\033[31m\001garbage\n\n\n'
