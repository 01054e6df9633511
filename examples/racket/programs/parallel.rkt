#lang racket/base
;; The mandelbrot bitmap again, computed by futures: one worker per HRT CPU (MV_HRT_CPUS, as the
;; image's init sets it; else the processor count), each an OS thread, so in the HRT each is an
;; execution group with its own vCPU. The rows are cut into 64 fixed blocks and the workers take
;; every k-th block, so the output (and its digest) is mandelbrot.rkt's for the same N, whatever
;; the number of workers. Returns the worker count for the runner's line.
(require racket/future "mandelbrot.rkt")
(provide run)

(define (hrt-cpus)
  ;; "1", "1-3", "1,3": how many CPUs the list names
  (define s (getenv "MV_HRT_CPUS"))
  (define n
    (and s (regexp-match? #rx"^[0-9]+(-[0-9]+)?(,[0-9]+(-[0-9]+)?)*$" s)
         (for/sum ([part (regexp-split #rx"," s)])
           (define r (map string->number (regexp-split #rx"-" part)))
           (if (null? (cdr r)) 1 (+ 1 (- (cadr r) (car r)))))))
  (if (and n (> n 0)) n (processor-count)))

(define blocks 64)

(define (run n out)
  (define workers (max 1 (hrt-cpus)))
  (define rows (make-vector n #f))
  (define (block-rows b) (in-range (quotient (* b n) blocks) (quotient (* (+ b 1) n) blocks)))
  (define fs
    (for/list ([w (in-range workers)])
      (future (lambda ()
                (for* ([b (in-range w blocks workers)] [y (block-rows b)])
                  (vector-set! rows y (mandel-row n y)))))))
  (for-each touch fs)
  (fprintf out "P4\n~a ~a\n" n n)
  (for ([r (in-vector rows)]) (write-bytes r out))
  (format "workers:~a" workers))
