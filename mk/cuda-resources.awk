# cuda-resources.awk: one line per kernel from the output of nvcc -Xptxas -v:
# its name, registers per thread, static shared memory and spilled bytes.
/Compiling entry function/ {
    match($0, /_Z[0-9]+/)
    length_digits = substr($0, RSTART + 2, RLENGTH - 2)
    name = substr($0, RSTART + RLENGTH, length_digits + 0)
}
/spill stores/ { match($0, /[0-9]+ bytes spill stores/); spill = $0 + 0; spill = substr($0, RSTART, RLENGTH - 18) }
/Used [0-9]+ registers/ {
    match($0, /Used [0-9]+ registers/); registers = substr($0, RSTART + 5, RLENGTH - 15)
    smem = "0"
    if (match($0, /[0-9]+ bytes smem/)) smem = substr($0, RSTART, RLENGTH - 11)
    printf "%-30s %4d registers %6d bytes shared %4d bytes spilled\n", name, \
        registers, smem, spill
}
