_userupd() {
    local IFS=$' \t\n'
    local args cur prev cmd opts arg
    args=("${COMP_WORDS[@]}")
    cur="${COMP_WORDS[COMP_CWORD]}"
    prev="${COMP_WORDS[COMP_CWORD-1]}"
    opts="-h --help --version --completion"

    case "$prev" in
        --completion)
            COMPREPLY=($(compgen -W "bash zsh fish" -- "$cur"))
            return 0
            ;;
    esac

    args=("${args[@]:1}")
    for arg in "${args[@]}"; do
        case "$arg" in
            apply)
                cmd="apply"
                opts="$opts --input --map --journal --journal-rebind --concurrency --rate --base-url --config --max-failures --max-rate-limited --max-invalid --changed-fields --format --sep --strict-csv --blank --dry-run --metrics-file --no-progress --progress --progress-every --log-format --show-requests --diff --diff-all --summary-json --against-vendor -h --help"
                break
                ;;
            failures)
                cmd="failures"
                opts="$opts --journal --format --output --prune -h --help"
                break
                ;;
            diff)
                cmd="diff"
                opts="$opts --input --map --journal --journal-rebind --concurrency --rate --base-url --config --max-failures --max-rate-limited --max-invalid --changed-fields --format --sep --strict-csv --blank --dry-run --metrics-file --no-progress --progress --progress-every --log-format --show-requests --diff --diff-all --summary-json --sample -h --help"
                break
                ;;
            fields)
                cmd="fields"
                opts="$opts --format -h --help"
                break
                ;;
            get)
                cmd="get"
                opts="$opts --base-url --config --rate -h --help"
                break
                ;;
        esac
    done

    case "$cmd" in
        '')
            COMPREPLY=($(compgen -W "apply failures diff fields get" -- "$cur"))
            ;;
        'apply')
            case "$prev" in
                --input)
                    COMPREPLY=($(compgen -f -- "$cur"))
                    return 0
                    ;;
                --map)
                    COMPREPLY=($(compgen -f -- "$cur"))
                    return 0
                    ;;
                --journal)
                    COMPREPLY=($(compgen -f -- "$cur"))
                    return 0
                    ;;
                --concurrency)
                    COMPREPLY=($(compgen -f -- "$cur"))
                    return 0
                    ;;
                --rate)
                    COMPREPLY=($(compgen -f -- "$cur"))
                    return 0
                    ;;
                --base-url)
                    COMPREPLY=($(compgen -f -- "$cur"))
                    return 0
                    ;;
                --config)
                    COMPREPLY=($(compgen -f -- "$cur"))
                    return 0
                    ;;
                --max-failures)
                    COMPREPLY=($(compgen -f -- "$cur"))
                    return 0
                    ;;
                --max-rate-limited)
                    COMPREPLY=($(compgen -f -- "$cur"))
                    return 0
                    ;;
                --max-invalid)
                    COMPREPLY=($(compgen -f -- "$cur"))
                    return 0
                    ;;
                --format)
                    COMPREPLY=($(compgen -W "csv jsonl" -- "$cur"))
                    return 0
                    ;;
                --sep)
                    COMPREPLY=($(compgen -f -- "$cur"))
                    return 0
                    ;;
                --blank)
                    COMPREPLY=($(compgen -W "absent clear" -- "$cur"))
                    return 0
                    ;;
                --metrics-file)
                    COMPREPLY=($(compgen -f -- "$cur"))
                    return 0
                    ;;
                --progress-every)
                    COMPREPLY=($(compgen -f -- "$cur"))
                    return 0
                    ;;
                --log-format)
                    COMPREPLY=($(compgen -W "text json plain" -- "$cur"))
                    return 0
                    ;;
                --summary-json)
                    COMPREPLY=($(compgen -f -- "$cur"))
                    return 0
                    ;;
                --against-vendor)
                    COMPREPLY=($(compgen -f -- "$cur"))
                    return 0
                    ;;
            esac

            ;;
        'failures')
            case "$prev" in
                --journal)
                    COMPREPLY=($(compgen -f -- "$cur"))
                    return 0
                    ;;
                --format)
                    COMPREPLY=($(compgen -W "csv jsonl input" -- "$cur"))
                    return 0
                    ;;
                --output)
                    COMPREPLY=($(compgen -f -- "$cur"))
                    return 0
                    ;;
            esac

            ;;
        'diff')
            case "$prev" in
                --input)
                    COMPREPLY=($(compgen -f -- "$cur"))
                    return 0
                    ;;
                --map)
                    COMPREPLY=($(compgen -f -- "$cur"))
                    return 0
                    ;;
                --journal)
                    COMPREPLY=($(compgen -f -- "$cur"))
                    return 0
                    ;;
                --concurrency)
                    COMPREPLY=($(compgen -f -- "$cur"))
                    return 0
                    ;;
                --rate)
                    COMPREPLY=($(compgen -f -- "$cur"))
                    return 0
                    ;;
                --base-url)
                    COMPREPLY=($(compgen -f -- "$cur"))
                    return 0
                    ;;
                --config)
                    COMPREPLY=($(compgen -f -- "$cur"))
                    return 0
                    ;;
                --max-failures)
                    COMPREPLY=($(compgen -f -- "$cur"))
                    return 0
                    ;;
                --max-rate-limited)
                    COMPREPLY=($(compgen -f -- "$cur"))
                    return 0
                    ;;
                --max-invalid)
                    COMPREPLY=($(compgen -f -- "$cur"))
                    return 0
                    ;;
                --format)
                    COMPREPLY=($(compgen -W "csv jsonl" -- "$cur"))
                    return 0
                    ;;
                --sep)
                    COMPREPLY=($(compgen -f -- "$cur"))
                    return 0
                    ;;
                --blank)
                    COMPREPLY=($(compgen -W "absent clear" -- "$cur"))
                    return 0
                    ;;
                --metrics-file)
                    COMPREPLY=($(compgen -f -- "$cur"))
                    return 0
                    ;;
                --progress-every)
                    COMPREPLY=($(compgen -f -- "$cur"))
                    return 0
                    ;;
                --log-format)
                    COMPREPLY=($(compgen -W "text json plain" -- "$cur"))
                    return 0
                    ;;
                --summary-json)
                    COMPREPLY=($(compgen -f -- "$cur"))
                    return 0
                    ;;
                --sample)
                    COMPREPLY=($(compgen -f -- "$cur"))
                    return 0
                    ;;
            esac

            ;;
        'fields')
            case "$prev" in
                --format)
                    COMPREPLY=($(compgen -W "text json" -- "$cur"))
                    return 0
                    ;;
            esac

            ;;
        'get')
            case "$prev" in
                --base-url)
                    COMPREPLY=($(compgen -f -- "$cur"))
                    return 0
                    ;;
                --config)
                    COMPREPLY=($(compgen -f -- "$cur"))
                    return 0
                    ;;
                --rate)
                    COMPREPLY=($(compgen -f -- "$cur"))
                    return 0
                    ;;
            esac

            ;;
    esac

    if [[ "$cur" = -* ]]; then
        COMPREPLY=($(compgen -W "$opts" -- "$cur"))
    fi
}

complete -F _userupd -o bashdefault -o default userupd
