#lang racket/base
;; File I/O with no buffering, so every 4 KiB read and write is one system call (forwarded, in
;; the HRT): write N KiB in 4 KiB blocks, copy the file block by block, read the copy back and
;; compare. Output: the sizes, the block counts and the copy's sha256.
(provide run)

(define block 4096)

(define (block-bytes i)
  ;; deterministic contents: a little generator seeded by the block number
  (define b (make-bytes block))
  (for/fold ([x (+ 12345 (* i 2654435761))]) ([k (in-range block)])
    (define y (bitwise-and (+ (* x 1103515245) 12345) #x7fffffff))
    (bytes-set! b k (bitwise-and (arithmetic-shift y -16) 255))
    y)
  b)

(define (unbuffered p) (file-stream-buffer-mode p 'none) p)

(define (run n out)
  (define dir (find-system-path 'temp-dir))
  (define a (build-path dir (format "mv-filecopy-~a-a" (current-milliseconds))))
  (define b (build-path dir (format "mv-filecopy-~a-b" (current-milliseconds))))
  (define blocks (quotient n 4))
  (define data (for/vector ([i (in-range 16)]) (block-bytes i)))
  (call-with-output-file a #:exists 'truncate
    (lambda (o) (unbuffered o) (for ([i (in-range blocks)]) (write-bytes (vector-ref data (remainder i 16)) o))))
  (define buf (make-bytes block))
  (define copied
    (call-with-input-file a
      (lambda (i)
        (unbuffered i)
        (call-with-output-file b #:exists 'truncate
          (lambda (o)
            (unbuffered o)
            (let loop ([k 0])
              (define got (read-bytes-avail! buf i))
              (if (eof-object? got)
                  k
                  (begin (write-bytes buf o 0 got) (loop (+ k 1))))))))))
  (define same
    (call-with-input-file b
      (lambda (i)
        (unbuffered i)
        (for/and ([k (in-range blocks)])
          (equal? (read-bytes block i) (vector-ref data (remainder k 16)))))))
  (define digest (call-with-input-file b sha256-bytes))
  (delete-file a)
  (delete-file b)
  (fprintf out "wrote ~a blocks, copied ~a, bytes ~a, same ~a, sha256 ~a\n"
           blocks copied (* blocks block) same
           (apply string-append (for/list ([x (in-bytes digest)]) (string-append (if (< x 16) "0" "") (number->string x 16))))))
