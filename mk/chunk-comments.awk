# chunk-comments.awk: a noweb filter for tangling (markup in, markup out).
# It opens every chunk with a comment naming it, PBRT style, so a reader of a
# tangled file can find the chunk in the book, and so a prose-only edit (which
# moves lines but changes no code) leaves the tangled files, and the objects
# built from them, untouched. The first line of each piece of a file root
# says where it comes from and that the file is generated.
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
        print "@text " (style == "c" ? "/* " text " */" : "# " text)
        print "@nl"
    }
    pending = ""
    next
}
{ print }
