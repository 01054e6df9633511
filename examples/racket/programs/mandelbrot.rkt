#lang racket/base
;; mandelbrot (the benchmark game): an N x N bitmap of the Mandelbrot set in [-1.5,0.5]x[-1,1],
;; 50 iterations, written as a PBM (P4) image.
(require racket/flonum)
(provide run mandel-row)

;; The packed bits of row y (also used by parallel.rkt).
(define (mandel-row n y)
  (define row (make-bytes (quotient (+ n 7) 8) 0))
  (define ci (fl- (fl/ (fl* 2.0 (->fl y)) (->fl n)) 1.0))
  (for ([x (in-range n)])
    (define cr (fl- (fl/ (fl* 2.0 (->fl x)) (->fl n)) 1.5))
    (define inside?
      (let loop ([i 0] [zr 0.0] [zi 0.0])
        (cond
          [(fl> (fl+ (fl* zr zr) (fl* zi zi)) 4.0) #f]
          [(= i 50) #t]
          [else (loop (+ i 1) (fl+ (fl- (fl* zr zr) (fl* zi zi)) cr) (fl+ (fl* 2.0 (fl* zr zi)) ci))])))
    (when inside?
      (define b (quotient x 8))
      (bytes-set! row b (bitwise-ior (bytes-ref row b) (arithmetic-shift #x80 (- (remainder x 8)))))))
  row)

(define (run n out)
  (fprintf out "P4\n~a ~a\n" n n)
  (for ([y (in-range n)]) (write-bytes (mandel-row n y) out)))
