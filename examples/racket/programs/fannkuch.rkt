#lang racket/base
;; fannkuch-redux (the benchmark game): for every permutation of 1..N, the number of prefix
;; reversals until 1 comes first. Output: the checksum and the maximum.
(require racket/fixnum)
(provide run)

(define (run n out)
  (define perm (make-fxvector n 0))
  (define perm1 (for/fxvector #:length n ([i (in-range n)]) i))
  (define count (make-fxvector n 0))
  (let loop ([r n] [perm-count 0] [checksum 0] [max-flips 0])
    (define r1 (let fill ([r r]) (if (= r 1) r (begin (fxvector-set! count (- r 1) r) (fill (- r 1))))))
    (for ([i (in-range n)]) (fxvector-set! perm i (fxvector-ref perm1 i)))
    (define flips
      (let flip ([flips 0])
        (define k (fxvector-ref perm 0))
        (if (= k 0)
            flips
            (begin
              (let rev ([i 0] [j k])
                (when (< i j)
                  (define t (fxvector-ref perm i))
                  (fxvector-set! perm i (fxvector-ref perm j))
                  (fxvector-set! perm j t)
                  (rev (+ i 1) (- j 1))))
              (flip (+ flips 1))))))
    (define checksum* (if (even? perm-count) (+ checksum flips) (- checksum flips)))
    (define max* (max max-flips flips))
    ;; the next permutation, in the order the benchmark game's programs use
    (let next ([r r1])
      (cond
        [(= r n)
         (fprintf out "~a\nPfannkuchen(~a) = ~a\n" checksum* n max*)]
        [else
         (define p0 (fxvector-ref perm1 0))
         (for ([i (in-range r)]) (fxvector-set! perm1 i (fxvector-ref perm1 (+ i 1))))
         (fxvector-set! perm1 r p0)
         (fxvector-set! count r (- (fxvector-ref count r) 1))
         (if (> (fxvector-ref count r) 0)
             (loop r (+ perm-count 1) checksum* max*)
             (next (+ r 1)))]))))
