#lang racket/base
;; binary-trees (the benchmark game): allocate and walk perfect binary trees of depth 4..N, with
;; one long-lived tree held throughout; the collector does most of the work.
(provide run)

(struct node (left right))

(define (make d)
  (if (= d 0) (node #f #f) (node (make (- d 1)) (make (- d 1)))))

(define (check t)
  (if (node-left t) (+ 1 (check (node-left t)) (check (node-right t))) 1))

(define (run n out)
  (define max-depth (max 6 n))
  (define stretch (+ max-depth 1))
  (fprintf out "stretch tree of depth ~a\t check: ~a\n" stretch (check (make stretch)))
  (define long-lived (make max-depth))
  (for ([d (in-range 4 (+ max-depth 1) 2)])
    (define iterations (arithmetic-shift 1 (+ (- max-depth d) 4)))
    (define sum (for/fold ([s 0]) ([_ (in-range iterations)]) (+ s (check (make d)))))
    (fprintf out "~a\t trees of depth ~a\t check: ~a\n" iterations d sum))
  (fprintf out "long lived tree of depth ~a\t check: ~a\n" max-depth (check long-lived)))
