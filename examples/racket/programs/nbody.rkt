#lang racket/base
;; n-body (the benchmark game): a Jovian planets simulation in flonums, N steps of 0.01.
;; Output: the system's energy before and after, to 9 places.
(require racket/flonum)
(provide run)

(define pi 3.141592653589793)
(define solar-mass (fl* 4.0 (fl* pi pi)))
(define days-per-year 365.24)

(struct body (x y z vx vy vz mass) #:mutable)

(define (planet x y z vx vy vz mass)
  (body x y z (fl* vx days-per-year) (fl* vy days-per-year) (fl* vz days-per-year) (fl* mass solar-mass)))

(define (make-system)
  (vector
   (body 0.0 0.0 0.0 0.0 0.0 0.0 solar-mass)
   (planet 4.84143144246472090e+00 -1.16032004402742839e+00 -1.03622044471123109e-01
           1.66007664274403694e-03 7.69901118419740425e-03 -6.90460016972063023e-05 9.54791938424326609e-04)
   (planet 8.34336671824457987e+00 4.12479856412430479e+00 -4.03523417114321381e-01
           -2.76742510726862411e-03 4.99852801234917238e-03 2.30417297573763929e-05 2.85885980666130812e-04)
   (planet 1.28943695621391310e+01 -1.51111514016986312e+01 -2.23307578892655734e-01
           2.96460137564761618e-03 2.37847173959480950e-03 -2.96589568540237556e-05 4.36624404335156298e-05)
   (planet 1.53796971148509165e+01 -2.59193146099879641e+01 1.79258772950371181e-01
           2.68067772490389322e-03 1.62824170038242295e-03 -9.51592254519715870e-05 5.15138902046611451e-05)))

(define (offset-momentum! bodies)
  (define-values (px py pz)
    (for/fold ([px 0.0] [py 0.0] [pz 0.0]) ([b (in-vector bodies)])
      (values (fl+ px (fl* (body-vx b) (body-mass b)))
              (fl+ py (fl* (body-vy b) (body-mass b)))
              (fl+ pz (fl* (body-vz b) (body-mass b))))))
  (define sun (vector-ref bodies 0))
  (set-body-vx! sun (fl/ (fl- 0.0 px) solar-mass))
  (set-body-vy! sun (fl/ (fl- 0.0 py) solar-mass))
  (set-body-vz! sun (fl/ (fl- 0.0 pz) solar-mass)))

(define (energy bodies)
  (define n (vector-length bodies))
  (for/fold ([e 0.0]) ([i (in-range n)])
    (define b (vector-ref bodies i))
    (define e1 (fl+ e (fl* 0.5 (fl* (body-mass b)
                                     (fl+ (fl* (body-vx b) (body-vx b))
                                          (fl+ (fl* (body-vy b) (body-vy b)) (fl* (body-vz b) (body-vz b))))))))
    (for/fold ([e e1]) ([j (in-range (add1 i) n)])
      (define c (vector-ref bodies j))
      (define dx (fl- (body-x b) (body-x c)))
      (define dy (fl- (body-y b) (body-y c)))
      (define dz (fl- (body-z b) (body-z c)))
      (fl- e (fl/ (fl* (body-mass b) (body-mass c)) (flsqrt (fl+ (fl* dx dx) (fl+ (fl* dy dy) (fl* dz dz)))))))))

(define (advance! bodies dt)
  (define n (vector-length bodies))
  (for ([i (in-range n)])
    (define b (vector-ref bodies i))
    (for ([j (in-range (add1 i) n)])
      (define c (vector-ref bodies j))
      (define dx (fl- (body-x b) (body-x c)))
      (define dy (fl- (body-y b) (body-y c)))
      (define dz (fl- (body-z b) (body-z c)))
      (define d2 (fl+ (fl* dx dx) (fl+ (fl* dy dy) (fl* dz dz))))
      (define mag (fl/ dt (fl* d2 (flsqrt d2))))
      (define bm (fl* (body-mass b) mag))
      (define cm (fl* (body-mass c) mag))
      (set-body-vx! b (fl- (body-vx b) (fl* dx cm)))
      (set-body-vy! b (fl- (body-vy b) (fl* dy cm)))
      (set-body-vz! b (fl- (body-vz b) (fl* dz cm)))
      (set-body-vx! c (fl+ (body-vx c) (fl* dx bm)))
      (set-body-vy! c (fl+ (body-vy c) (fl* dy bm)))
      (set-body-vz! c (fl+ (body-vz c) (fl* dz bm)))))
  (for ([b (in-vector bodies)])
    (set-body-x! b (fl+ (body-x b) (fl* dt (body-vx b))))
    (set-body-y! b (fl+ (body-y b) (fl* dt (body-vy b))))
    (set-body-z! b (fl+ (body-z b) (fl* dt (body-vz b))))))

(define (run n out)
  (define system (make-system))
  (offset-momentum! system)
  (fprintf out "~a\n" (real->decimal-string (energy system) 9))
  (for ([_ (in-range n)]) (advance! system 0.01))
  (fprintf out "~a\n" (real->decimal-string (energy system) 9)))
