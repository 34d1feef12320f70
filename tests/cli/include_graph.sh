#!/bin/bash
# include_graph.sh — the folders of src/ are layers: every #include "F/x.h" of a file in folder G
# names a folder G may use (the same list as the CMake libraries in CMakeLists.txt), and the
# graph of modules (a folder's x.c and x.h are module F/x) has no cycle.
. "$(dirname "$0")/lib/common.sh"

# Which folders each folder may include from; src/main.c is the program on top of them all.
declare -A ALLOWED=(
    [util]="util"
    [device]="util device"
    [layers]="util device layers"
    [data]="util data"
    [net]="util device layers data net"
    [study]="util device layers data net study"
    [interop]="util device layers data net interop"
    [main]="util device layers data net study interop"
)

edges="$WORK/edges"
: > "$edges"
bad=0
cd "$SRC/src"
for file in main.c */*.c */*.cpp */*.h; do
    [ -f "$file" ] || continue
    folder=$(dirname "$file")
    [ "$folder" = . ] && folder=main
    if [ -z "${ALLOWED[$folder]+set}" ]; then
        echo "  $file: folder $folder is not in this test's layer list"
        bad=1
        continue
    fi
    module="${file%.*}"
    while read -r target; do
        to_folder=${target%%/*}
        if [ "$to_folder" = "$target" ]; then
            echo "  $file includes \"$target\" without its folder"
            bad=1
            continue
        fi
        case " ${ALLOWED[$folder]} " in
            *" $to_folder "*) ;;
            *) echo "  $file ($folder) includes $target: $folder may use only ${ALLOWED[$folder]}"; bad=1 ;;
        esac
        to_module="${target%.*}"
        [ "$to_module" != "$module" ] && echo "$module $to_module" >> "$edges"
    done < <(sed -n 's/^[[:space:]]*#[[:space:]]*include[[:space:]]*"\([^"]*\)".*/\1/p' "$file")
done
check "every #include names a folder its own folder may use" test $bad -eq 0
check "the module graph has edges (the scan read the sources)" test -s "$edges"
check "the module include graph of src/ has no cycle" bash -c "tsort '$edges' > /dev/null 2> '$WORK/tsort'"
[ -s "$WORK/tsort" ] && sed 's/^/  /' "$WORK/tsort"
finish
