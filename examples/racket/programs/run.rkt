#lang racket/base
;; The Racket suite runner (the Lua suite's run.lua, for Racket). Each program module provides
;; (run n out): it writes its whole output to the port `out` (and may return an info string).
;; This loads it, times it, hashes its output (sha256, first 16 hex digits) and checks the hash
;; against digests.rktd for that size.
;;   racket run.rkt NAME SIZE          one program: one MV-BENCH line; status 1 on a wrong digest
;;   racket run.rkt suite PRESET       every program at the preset's size (small | bench)
;;   racket run.rkt digest NAME SIZE   the digest only
;;   racket run.rkt digests            digests.rktd for every preset (run natively, MV_DISABLE=1)
;;   MV_DISABLE=1 racket run.rkt ab PRESET RUNS [ONLY] [MODES]   the A/B driver (see ab below)
;; Lines look like:
;;   MV-BENCH name=nbody n=1000 real_s=0.012345 cpu_s=0.012 gc_s=0.000 bytes=22 digest=... check=ok
;; real_s is the in-program wall time around the work (monotonic-enough: current-inexact-
;; milliseconds, µs steps); cpu_s the process CPU time (ms steps; all threads); gc_s the collector's.
(provide programs presets)

(define here
  (let-values ([(base name dir?) (split-path (variable-reference->module-source (#%variable-reference)))]) base))

(define programs '(nbody spectralnorm fannkuch binarytrees fasta mandelbrot alloc filecopy parallel))

(define presets
  ;; small: for the tests, seconds in all inside the QEMU guest.
  ;; bench: each 0.2-1 s natively on a host core, so a guest run stays within minutes.
  (hash 'small (hash 'nbody 2000 'spectralnorm 40 'fannkuch 7 'binarytrees 8 'fasta 2000
                     'mandelbrot 64 'alloc 4 'filecopy 64 'parallel 64)
        'bench (hash 'nbody 800000 'spectralnorm 1000 'fannkuch 10 'binarytrees 17 'fasta 800000
                     'mandelbrot 2000 'alloc 30 'filecopy 8192 'parallel 2000)))

(define (program-run name)
  (dynamic-require (build-path here (format "~a.rkt" name)) 'run))

(define (hex bs)
  (apply string-append (for/list ([b (in-bytes bs)]) (string-append (if (< b 16) "0" "") (number->string b 16)))))

;; -> (values output-bytes real-s cpu-s gc-s info)
(define (run-one name n)
  (define run (program-run name))
  (define out (open-output-bytes))
  (collect-garbage)
  (define t0 (current-inexact-milliseconds))
  (define c0 (current-process-milliseconds))
  (define g0 (current-gc-milliseconds))
  (define info (run n out))
  (define t1 (current-inexact-milliseconds))
  (define c1 (current-process-milliseconds))
  (define g1 (current-gc-milliseconds))
  (values (get-output-bytes out #t) (/ (- t1 t0) 1000.0) (/ (- c1 c0) 1000.0) (/ (- g1 g0) 1000.0)
          (and (string? info) info)))

(define (digest-of bs) (substring (hex (sha256-bytes (open-input-bytes bs))) 0 16))

(define (known-digests)
  (define f (build-path here "digests.rktd"))
  (if (file-exists? f) (call-with-input-file f read) '()))

(define (fixed x) (real->decimal-string x 6))

(define (bench name n)
  (define want (let ([p (assq name (known-digests))]) (and p (let ([d (assv n (cdr p))]) (and d (cdr d))))))
  (define-values (bs real cpu gc info) (run-one name n))
  (define digest (digest-of bs))
  (define check (cond [(not want) "unknown"] [(equal? want digest) "ok"] [else "BAD"]))
  (printf "MV-BENCH name=~a n=~a real_s=~a cpu_s=~a gc_s=~a bytes=~a digest=~a check=~a~a\n"
          name n (fixed real) (fixed cpu) (fixed gc) (bytes-length bs) digest check (if info (format " info=~a" info) ""))
  (flush-output)
  (equal? check "ok"))

;; --- the A/B driver --------------------------------------------------------------------------
;; Run natively (MV_DISABLE=1): every program RUNS times in each mode, rotating which mode goes
;; first, each run its own process of this same racket binary:
;;   native   MV_DISABLE=1
;;   hrt      MV_REQUIRE_HRT=1 (a fallback to native is an error, not a silent pass) and
;;            MV_STATS to a file, whose JSON summary becomes an MV-BENCH-STATS line
;;   hrt-ov   the same, with racket-ov (the build with overrides) from next to this racket
;; wall_s is the parent's view of the whole process (start-up included).
(define (read-all in)
  (let loop ([acc '()])
    (define b (read-bytes 65536 in))
    (if (eof-object? b) (bytes->string/utf-8 (apply bytes-append (reverse acc)) #\?) (loop (cons b acc)))))

(define (child mode name n r)
  (define exe (let ([self (path->complete-path (find-system-path 'exec-file))])
                (if (equal? mode "hrt-ov")
                    (let-values ([(dir file _) (split-path self)]) (build-path dir (format "~a-ov" file)))
                    self)))
  (define stats (build-path (find-system-path 'temp-dir) (format "mv-stats-~a-~a-~a" mode name r)))
  (when (file-exists? stats) (delete-file stats))
  (define env (environment-variables-copy (current-environment-variables)))
  (cond
    [(equal? mode "native") (environment-variables-set! env #"MV_DISABLE" #"1")]
    [else (environment-variables-set! env #"MV_DISABLE" #"0")
          (environment-variables-set! env #"MV_REQUIRE_HRT" #"1")
          (environment-variables-set! env #"MV_STATS" (path->bytes stats))])
  (define t0 (current-inexact-milliseconds))
  (define-values (p out in err)
    (parameterize ([current-environment-variables env])
      (subprocess #f #f 'stdout exe (build-path here "run.rkt") (symbol->string name) (number->string n))))
  (close-output-port in)
  (define output (read-all out))
  (close-input-port out)
  (subprocess-wait p)
  (define wall (/ (- (current-inexact-milliseconds) t0) 1000.0))
  (define line (regexp-match #rx"MV-BENCH (name=[^\n]*)" output))
  (for ([l (in-list (regexp-split #rx"\n" output))] #:unless (or (equal? l "") (regexp-match? #rx"^MV-BENCH " l)))
    (printf "MV-BENCH-LOG mode=~a name=~a run=~a ~a\n" mode name r l))
  (printf "MV-BENCH mode=~a run=~a status=~a wall_s=~a ~a\n" mode r (subprocess-status p) (real->decimal-string wall 3)
          (if line (cadr line) (format "name=~a n=~a check=none" name n)))
  ;; libmv's MV_STATS summary: one JSON object per process, passed on as it is.
  (when (file-exists? stats)
    (for ([l (in-list (call-with-input-file stats (lambda (i) (regexp-split #rx"\n" (read-all i)))))]
          #:when (regexp-match? #rx"^[{]" l))
      (printf "MV-BENCH-STATS mode=~a run=~a name=~a ~a\n" mode r name l))
    (delete-file stats))
  (flush-output))

(define (ab preset runs only modes)
  (define sizes (hash-ref presets preset (lambda () (error 'run.rkt "unknown preset ~a" preset))))
  (for* ([name (in-list programs)] #:when (or (not only) (memq name only)) [r (in-range 1 (+ runs 1))])
    (define k (length modes))
    (define order (for/list ([i (in-range k)]) (list-ref modes (remainder (+ i r -1) k))))
    (for ([mode (in-list order)]) (child mode name (hash-ref sizes name) r)))
  (printf "MV-BENCH-DONE preset=~a runs=~a modes=~a\n" preset runs (apply string-append (add-between modes ","))))

(define (add-between l sep)
  (if (or (null? l) (null? (cdr l))) l (list* (car l) sep (add-between (cdr l) sep))))

(define (split-names s) (map string->symbol (regexp-split #rx"," s)))

(module+ main
  (define args (vector->list (current-command-line-arguments)))
  (define (preset-arg a) (string->symbol (if (pair? a) (car a) "small")))
  (define (usage) (eprintf "usage: run.rkt NAME SIZE | suite [small|bench] | digest NAME SIZE | digests | ab PRESET RUNS [ONLY|all] [MODES]\n") (exit 2))
  (cond
    [(null? args) (usage)]
    [(equal? (car args) "suite")
     (define preset (preset-arg (cdr args)))
     (define sizes (hash-ref presets preset (lambda () (usage))))
     (define bad (for/sum ([name (in-list programs)]) (if (bench name (hash-ref sizes name)) 0 1)))
     (printf "MV-BENCH-SUITE ~a programs=~a bad=~a\n" preset (length programs) bad)
     (exit (if (zero? bad) 0 1))]
    [(equal? (car args) "ab")
     (define rest (cdr args))
     (ab (preset-arg rest)
         (if (>= (length rest) 2) (string->number (cadr rest)) 5)
         (and (>= (length rest) 3) (not (equal? (caddr rest) "all")) (split-names (caddr rest)))
         (if (>= (length rest) 4) (regexp-split #rx"," (cadddr rest)) '("native" "hrt")))]
    [(and (equal? (car args) "digest") (= (length args) 3))
     (define-values (bs real cpu gc info) (run-one (string->symbol (cadr args)) (string->number (caddr args))))
     (displayln (digest-of bs))]
    [(equal? (car args) "digests")
     (printf ";; GENERATED by `MV_DISABLE=1 racket run.rkt digests` (examples/racket's racket, natively):\n")
     (printf ";; the first 16 hex digits of each program's whole output's sha256, per size.\n")
     (printf ";; Regenerate after changing a program.\n(\n")
     (for ([name (in-list programs)])
       (define ns (sort (remove-duplicates (for/list ([p (in-list '(small bench))]) (hash-ref (hash-ref presets p) name))) <))
       (printf " (~a~a)\n" name
               (apply string-append (for/list ([n (in-list ns)])
                                      (define-values (bs real cpu gc info) (run-one name n))
                                      (format " (~a . ~s)" n (digest-of bs))))))
     (printf ")\n")]
    [(and (= (length args) 2) (string->number (cadr args)))
     (exit (if (bench (string->symbol (car args)) (string->number (cadr args))) 0 1))]
    [else (usage)]))

(define (remove-duplicates l)
  (let loop ([l l] [acc '()]) (cond [(null? l) (reverse acc)] [(member (car l) acc) (loop (cdr l) acc)] [else (loop (cdr l) (cons (car l) acc))])))
