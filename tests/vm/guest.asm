; The VM demo's guest: a multiboot (v1) kernel of a few KiB that QEMU boots
; with -kernel, so no disk image is needed. It runs in 32-bit protected mode
; without paging and:
;
;  1. fills every 4 KiB page from 4 MiB to the top of low RAM with the run's
;     marker (32 bytes at the page's start) and xorshift32 data, so the
;     migration moves real, incompressible pages, each carrying the marker;
;  2. then, on every tick of the PIT (100 Hz; hlt in between, so the vCPU
;     sleeps), rewrites 16 bytes in each of the next "pages per tick" pages,
;     round robin over that area: memory keeps changing while it migrates,
;     which exercises QEMU's dirty-page tracking.
;
; Parameters (the demo places them with -device loader at PARAMS):
;   +0  marker, 32 bytes      +32 pages per tick (u32)
;   +36 PARAMS_MAGIC (u32)    +40 xorshift32 seed (u32, non-zero)
; Status the demo reads over QMP (STATUS, u32 each):
;   +0  READY_MAGIC once the fill is done
;   +4  heartbeat: ticks handled since then
;   +8  completed passes of the rewrite over memory
;   +12 0, or FAULT_* if the guest stopped
; (Keep in step with tests/vm/guest.py.)

bits 32
org 0x100000

PARAMS       equ 0x200000
PARAMS_MAGIC equ 0x4d534750     ; "PGSM"
STATUS       equ 0x1ff000
READY_MAGIC  equ 0x59444552     ; "REDY"
FAULT_PARAMS equ 1
FAULT_MEMINFO equ 2
FAULT_CPU    equ 3
FILL_START   equ 0x400000
PAGE         equ 4096
CR4_PGE      equ 1 << 7
PIT_DIVISOR  equ 11932          ; 1193182 Hz / 100

mb_header:                      ; multiboot v1, "a.out kludge": a flat binary
	dd 0x1badb002
	dd 0x00010002           ; bit 1: memory info, bit 16: the addresses below
	dd -(0x1badb002 + 0x00010002)
	dd mb_header            ; header_addr
	dd 0x100000             ; load_addr: the image's first byte
	dd 0                    ; load_end_addr: the whole file
	dd 0                    ; bss_end_addr: no bss (the stack is in the image)
	dd start                ; entry_addr

start:
	cli
	cld
	mov esp, stack_top
	lgdt [gdt_desc]         ; multiboot leaves GDTR undefined
	jmp 0x08:.cs
.cs:
	mov ax, 0x10
	mov ds, ax
	mov es, ax
	mov ss, ax
	mov fs, ax
	mov gs, ax
	mov dword [STATUS], 0
	mov dword [STATUS + 4], 0
	mov dword [STATUS + 8], 0
	mov dword [STATUS + 12], 0

	test dword [ebx], 1     ; multiboot info: mem_lower/mem_upper valid?
	mov eax, FAULT_MEMINFO
	jz fault
	mov ecx, [ebx + 8]      ; mem_upper: KiB above 1 MiB
	shl ecx, 10
	add ecx, 0x100000
	and ecx, ~(PAGE - 1)
	mov [top], ecx

	cmp dword [PARAMS + 36], PARAMS_MAGIC
	mov eax, FAULT_PARAMS
	jne fault
	mov eax, [PARAMS + 32]
	mov [per_tick], eax
	mov edx, [PARAMS + 40]
	test edx, edx
	jnz .seeded
	mov edx, 0x2545f491
.seeded:

	; 1. fill
	mov edi, FILL_START
.page:
	cmp edi, [top]
	jae .filled
	mov esi, PARAMS
	mov ecx, 8
	rep movsd               ; the marker
	mov ecx, (PAGE - 32) / 4
.word:
	call xorshift
	stosd
	dec ecx
	jnz .word
	jmp .page
.filled:
	mov [seed], edx
	call setup_idt
	call setup_pic_pit
	mov dword [STATUS], READY_MAGIC

	; 2. rewrite, one batch per tick
	mov ebx, FILL_START
.tick:
	sti
	hlt                     ; until the next interrupt (sti's shadow covers hlt)
	cli
	; Flush the TLB (toggling CR4.PGE does, even without paging), as any
	; OS with paging does all the time. QEMU 7.2's TCG re-arms its
	; dirty-page trap only when a page's TLB entry is refilled, so without
	; this the writes to the few pages we touch on every tick (status,
	; stack) were missed by the migration and the destination's memory
	; differed from the source's.
	mov eax, cr4
	xor eax, CR4_PGE
	mov cr4, eax
	xor eax, CR4_PGE
	mov cr4, eax
	mov ecx, [per_tick]
	test ecx, ecx
	jz .beat
	mov edx, [seed]
.dirty:
	mov eax, [STATUS + 4]
	mov [ebx + 32], eax     ; heartbeat, page address, two fresh random words
	mov [ebx + 36], ebx
	call xorshift
	mov [ebx + 40], edx
	call xorshift
	mov [ebx + 44], edx
	add ebx, PAGE
	cmp ebx, [top]
	jb .next
	mov ebx, FILL_START
	inc dword [STATUS + 8]
.next:
	dec ecx
	jnz .dirty
	mov [seed], edx
.beat:
	inc dword [STATUS + 4]
	jmp .tick

; edx = xorshift32(edx), eax = the result too. Clobbers nothing else.
xorshift:
	mov eax, edx
	shl eax, 13
	xor edx, eax
	mov eax, edx
	shr eax, 17
	xor edx, eax
	mov eax, edx
	shl eax, 5
	xor edx, eax
	mov eax, edx
	ret

; 48 interrupt gates: exceptions 0-31 stop the guest, 32-47 are the PIC's.
setup_idt:
	mov edi, idt
	xor ecx, ecx
.gate:
	mov eax, exception
	cmp ecx, 32
	jb .set
	mov eax, irq_master
	cmp ecx, 40
	jb .set
	mov eax, irq_slave
.set:
	mov [edi], ax
	mov word [edi + 2], 0x08
	mov word [edi + 4], 0x8e00      ; present, DPL 0, 32-bit interrupt gate
	shr eax, 16
	mov [edi + 6], ax
	add edi, 8
	inc ecx
	cmp ecx, 48
	jb .gate
	lidt [idt_desc]
	ret

; 8259 PICs remapped to vectors 32-47, only IRQ 0 unmasked; PIT channel 0
; as a 100 Hz rate generator.
setup_pic_pit:
	mov al, 0x11
	out 0x20, al
	out 0xa0, al
	mov al, 0x20
	out 0x21, al
	mov al, 0x28
	out 0xa1, al
	mov al, 4
	out 0x21, al
	mov al, 2
	out 0xa1, al
	mov al, 1
	out 0x21, al
	out 0xa1, al
	mov al, 0xfe
	out 0x21, al
	mov al, 0xff
	out 0xa1, al
	mov al, 0x34
	out 0x43, al
	mov ax, PIT_DIVISOR
	out 0x40, al
	mov al, ah
	out 0x40, al
	ret

irq_master:
	push eax
	mov al, 0x20
	out 0x20, al
	pop eax
	iret

irq_slave:
	push eax
	mov al, 0x20
	out 0xa0, al
	out 0x20, al
	pop eax
	iret

exception:
	mov eax, FAULT_CPU
fault:                          ; eax = FAULT_*: record it and stop
	mov [STATUS + 12], eax
.stop:
	cli
	hlt
	jmp .stop

align 8
gdt:
	dq 0
	dq 0x00cf9a000000ffff   ; 0x08: code, flat 4 GiB
	dq 0x00cf92000000ffff   ; 0x10: data, flat 4 GiB
gdt_desc:
	dw gdt_desc - gdt - 1
	dd gdt
idt_desc:
	dw 48 * 8 - 1
	dd idt

align 4
top:      dd 0
per_tick: dd 0
seed:     dd 0

align 8
idt:      times 48 * 8 db 0
stack:    times 4096 db 0
stack_top:
