#lang racket/base
;; A collector workout: every round allocates many short-lived structures (lists of structs,
;; strings, vectors), keeps a few of them in a long-lived ring that the older generations must
;; hold and later drop, and makes some large byte strings, so the collector keeps mapping and
;; returning memory. Output: one checksum line per round.
(provide run)

(struct item (id name payload))

(define ring-size 4096)

(define (run n out)
  (define ring (make-vector ring-size #f))
  (define slot 0)
  (for ([round (in-range n)])
    ;; short-lived: 20000 items, summed, then garbage
    (define items (for/list ([i (in-range 20000)])
                    (item (+ i round) (number->string (* i 7)) (make-vector 4 i))))
    (define sum (for/fold ([s 0]) ([it (in-list items)])
                  (+ s (item-id it) (string-length (item-name it)) (vector-ref (item-payload it) 3))))
    ;; long-lived: every 50th item stays in the ring until its slot comes round again
    (for ([it (in-list items)] [i (in-naturals)] #:when (zero? (remainder i 50)))
      (vector-set! ring slot it)
      (set! slot (remainder (+ slot 1) ring-size)))
    ;; large objects: 1 and 4 MiB byte strings, touched and dropped
    (define big (make-bytes (* (if (even? round) 1 4) 1024 1024) (remainder round 256)))
    (bytes-set! big (- (bytes-length big) 1) 7)
    (define live (for/fold ([s 0]) ([it (in-vector ring)] #:when it) (+ s (item-id it))))
    (fprintf out "round ~a sum ~a live ~a big ~a\n" round sum live
             (+ (bytes-ref big 0) (bytes-ref big (- (bytes-length big) 1)) (bytes-length big)))))
