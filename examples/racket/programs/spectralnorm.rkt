#lang racket/base
;; spectral-norm (the benchmark game): the spectral norm of an infinite matrix A, by the power
;; method on an N x N section. Output: the norm to 9 places.
(require racket/flonum)
(provide run)

(define (a i j)
  (fl/ 1.0 (fx->fl (+ (quotient (* (+ i j) (+ i j 1)) 2) i 1))))

(define (mul-av n v av)
  (for ([i (in-range n)])
    (flvector-set! av i (for/fold ([s 0.0]) ([j (in-range n)]) (fl+ s (fl* (a i j) (flvector-ref v j)))))))

(define (mul-atv n v atv)
  (for ([i (in-range n)])
    (flvector-set! atv i (for/fold ([s 0.0]) ([j (in-range n)]) (fl+ s (fl* (a j i) (flvector-ref v j)))))))

(define (mul-atav n v atav tmp)
  (mul-av n v tmp)
  (mul-atv n tmp atav))

(define (fx->fl i) (->fl i))

(define (run n out)
  (define u (make-flvector n 1.0))
  (define v (make-flvector n 0.0))
  (define tmp (make-flvector n 0.0))
  (for ([_ (in-range 10)])
    (mul-atav n u v tmp)
    (mul-atav n v u tmp))
  (define-values (vbv vv)
    (for/fold ([vbv 0.0] [vv 0.0]) ([i (in-range n)])
      (values (fl+ vbv (fl* (flvector-ref u i) (flvector-ref v i)))
              (fl+ vv (fl* (flvector-ref v i) (flvector-ref v i))))))
  (fprintf out "~a\n" (real->decimal-string (flsqrt (fl/ vbv vv)) 9)))
