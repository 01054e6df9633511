#lang racket/base
;; fasta (the benchmark game): DNA sequences from a repeated ALU string and two weighted random
;; alphabets (the benchmark's linear congruential generator), 60 bases per line.
(provide run)

(define alu (string-append
             "GGCCGGGCGCGGTGGCTCACGCCTGTAATCCCAGCACTTTGG"
             "GAGGCCGAGGCGGGCGGATCACCTGAGGTCAGGAGTTCGAGA"
             "CCAGCCTGGCCAACATGGTGAAACCCCGTCTCTACTAAAAAT"
             "ACAAAAATTAGCCGGGCGTGGTGGCGCGCGCCTGTAATCCCA"
             "GCTACTCGGGAGGCTGAGGCAGGAGAATCGCTTGAACCCGGG"
             "AGGCGGAGGTTGCAGTGAGCCGAGATCGCGCCACTGCACTCC"
             "AGCCTGGGCGACAGAGCGAGACTCCGTCTCAAAAA"))

(define iub '((#\a . 0.27) (#\c . 0.12) (#\g . 0.12) (#\t . 0.27) (#\B . 0.02) (#\D . 0.02)
              (#\H . 0.02) (#\K . 0.02) (#\M . 0.02) (#\N . 0.02) (#\R . 0.02) (#\S . 0.02)
              (#\V . 0.02) (#\W . 0.02) (#\Y . 0.02)))
(define homo-sapiens '((#\a . 0.3029549426680) (#\c . 0.1979883004921) (#\g . 0.1975473066391)
                       (#\t . 0.3015094502008)))

(define IM 139968)
(define IA 3877)
(define IC 29573)
(define last 42)
(define (random-next max)
  (set! last (modulo (+ (* last IA) IC) IM))
  (/ (* max last) (exact->inexact IM)))

(define line-length 60)

(define (repeat-fasta out header s n)
  (write-string header out)
  (define len (string-length s))
  (define buf (string-append s s))
  (let loop ([n n] [pos 0])
    (when (> n 0)
      (define k (min n line-length))
      (write-string buf out pos (+ pos k))
      (newline out)
      (loop (- n k) (modulo (+ pos k) len)))))

(define (random-fasta out header table n)
  (write-string header out)
  (define chars (list->string (map car table)))
  (define probs (let loop ([t table] [acc 0.0])
                  (if (null? t) '() (let ([p (+ acc (cdar t))]) (cons p (loop (cdr t) p))))))
  (define cum (list->vector probs))
  (define line (make-string line-length))
  (let loop ([n n])
    (when (> n 0)
      (define k (min n line-length))
      (for ([i (in-range k)])
        (define r (random-next 1.0))
        (string-set! line i (string-ref chars (let find ([j 0]) (if (< r (vector-ref cum j)) j (find (+ j 1)))))))
      (write-string line out 0 k)
      (newline out)
      (loop (- n k)))))

(define (run n out)
  (set! last 42)
  (repeat-fasta out ">ONE Homo sapiens alu\n" alu (* n 2))
  (random-fasta out ">TWO IUB ambiguity codes\n" iub (* n 3))
  (random-fasta out ">THREE Homo sapiens frequency\n" homo-sapiens (* n 5)))
