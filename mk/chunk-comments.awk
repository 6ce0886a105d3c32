# chunk-comments.awk: a noweb filter for tangling (markup in, markup out).
# It opens every chunk with a comment naming it, PBRT style, so a reader of a
# tangled file can find the chunk in the book, and so a prose-only edit (which
# moves lines but changes no code) leaves the tangled files, and the objects
# built from them, untouched. The first line of each piece of a file root
# says where it comes from and that the file is generated (the second, in
# a script whose first line is its #! line).
# Variable style: "c" for /* */ comments, "hash" for # comments, "none".
/^@file / { file = substr($0, 7) }
/^@defn / { pending = substr($0, 7); print; next }
/^@nl/ && pending != "" {
    print
    if (style != "none") {
        if (pending ~ /^(tangled|tests)\//)
            text = "Generated from " file "; edit the book, not" \
                   " this file."
        else
            text = "<<" pending ">>"
        comment = "@text " (style == "c" ? "/* " text " */" : "# " text)
        # A script's first line may be its #! line, which must stay first.
        if (style == "hash" && pending ~ /^(tangled|tests)\//) {
            shebang_wait = 1; pending = ""; next
        }
        print comment
        print "@nl"
    }
    pending = ""
    next
}
shebang_wait == 1 && /^@text #!/ { print; shebang_wait = 2; next }
shebang_wait == 2 && /^@nl/ { print; print comment; print "@nl"; shebang_wait = 0; next }
shebang_wait == 1 { print comment; print "@nl"; shebang_wait = 0 }
{ print }
